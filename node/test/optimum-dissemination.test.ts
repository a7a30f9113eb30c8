import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { estimateRpcBytes } from '../optimum/outbox.js'
import type { Rpc, Shard } from '../optimum/types.js'
import { build, deliveredEverywhere, formMeshes, network, payload, randomGraph } from './support/optimum-fixtures.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

describe('optimum core: dissemination over an in-memory network', () => {
  it('delivers along a line of 5 nodes, recoding across hops', () => {
    const net = network(kernel)
    net.keepTraces = true
    const nodes = build(net, 5, [[0, 1], [1, 2], [2, 3], [3, 4]], 't')
    const data = payload(50_000, 3)
    const result = nodes[0].core.publish('t', data, 'm1')
    expect(result).toEqual({ id: 'm1', fresh: true, peers: 1 })
    expect(net.runUntil(() => deliveredEverywhere(nodes, 'm1', [nodes[0]]), 10_000)).toBe(true)
    for (const node of nodes.slice(1)) {
      expect(node.delivered).toHaveLength(1)
      expect(node.delivered[0].data).toEqual(data)
      expect(node.delivered[0].source).toBe('n0')
    }
    expect(nodes[0].delivered).toHaveLength(0)
    // The last node decoded from shards that crossed ≥ 3 relays.
    const last = nodes[4].traces.filter((e) => e.kind === 'new_shard' && e.messageId === 'm1')
    expect(last).toHaveLength(4)
    expect(nodes.slice(1, 4).every((n) => n.core.stats().recodes > 0)).toBe(true)
  })

  it('completes on a 64-node random mesh with upload-limited nodes', () => {
    const net = network(kernel, { seed: 5, delayMs: (a, b) => 5 + ((a.length * 7 + b.length * 13) % 20) })
    net.keepTraces = true
    const nodes = Array.from({ length: 64 }, (_, i) => net.addNode(`n${i}`, { uploadBytesPerMs: i % 3 === 0 ? 500 : 2000 }))
    for (const node of nodes) node.core.subscribe('t')
    for (const [a, b] of randomGraph(net, 64, 6)) net.connect(`n${a}`, `n${b}`)
    net.runFor(5000)
    const ids: string[] = []
    for (let i = 0; i < 8; i++) {
      const id = `m${i}`
      ids.push(id)
      nodes[(i * 9) % 64].core.publish('t', payload(64 * 1024, i), id)
    }
    const everywhere = (): boolean => ids.every((id, i) => deliveredEverywhere(nodes, id, [nodes[(i * 9) % 64]]))
    expect(net.runUntil(everywhere, 60_000)).toBe(true)
    for (const node of nodes) expect(new Set(node.delivered.map((d) => d.id)).size).toBe(node.delivered.length)
    // No peer is sent much more of a message than it can use (k = 4; an IWANT may add a little).
    for (const node of nodes) {
      const received = new Map<string, number>()
      for (const e of node.traces) {
        if (e.kind !== 'new_shard' && e.kind !== 'unhelpful_shard' && e.kind !== 'unnecessary_shard') continue
        const key = `${e.peer} ${e.messageId}`
        received.set(key, (received.get(key) ?? 0) + 1)
      }
      expect(Math.max(...received.values())).toBeLessThanOrEqual(2 * 4)
    }
  }, 60_000)

  it('defers shards while a peer is backlogged and pays them out on drain, fresh recodings only where still needed', () => {
    const net = network(kernel, { core: { limits: { backlogBytes: 16 * 1024 } } })
    const nodes = Array.from({ length: 4 }, (_, i) => net.addNode(`n${i}`, { uploadBytesPerMs: i === 1 ? 100 : 10_000 }))
    for (const node of nodes) node.core.subscribe('t')
    for (const [a, b] of [[0, 1], [1, 2], [1, 3], [2, 3]]) net.connect(`n${a}`, `n${b}`)
    net.runFor(3000)
    let owed = 0
    for (let i = 0; i < 3; i++) nodes[0].core.publish('t', payload(200_000, 20 + i), `b${i}`)
    const done = (): boolean => {
      owed = Math.max(owed, nodes[1].core.stats().deferred)
      return nodes.slice(1).every((n) => n.delivered.length === 3)
    }
    expect(net.runUntil(done, 60_000)).toBe(true)
    expect(owed).toBeGreaterThan(0)
    net.runFor(5000)
    expect(nodes[1].core.stats().deferred).toBe(0)
  })

  it("stops queueing on a node's uplink once it holds uplinkBacklogBytes, however many peers wait: the rest is owed", () => {
    const leaves = 4
    /** The most bytes n1 ever had queued towards all its peers, and the largest frame it sent. */
    const queued = (uplinkBacklogBytes: number): { worst: number; largestFrame: number } => {
      const net = network(kernel, { core: { limits: { backlogBytes: 256 * 1024, uplinkBacklogBytes } } })
      let largestFrame = 0
      const nodes = Array.from({ length: 2 + leaves }, (_, i) =>
        net.addNode(`n${i}`, {
          // n1, the only way from the publisher n0 to the leaves, has a slow uplink
          uploadBytesPerMs: i === 1 ? 100 : 10_000,
          ...(i === 1 ? { tamper: (_to: string, rpc: Rpc) => ((largestFrame = Math.max(largestFrame, estimateRpcBytes(rpc))), rpc) } : {}),
        }),
      )
      for (const node of nodes) node.core.subscribe('t')
      for (let b = 0; b < nodes.length; b++) if (b !== 1) net.connect('n1', `n${b}`)
      net.runFor(3000)
      for (let i = 0; i < 3; i++) nodes[0].core.publish('t', payload(200_000, 40 + i), `u${i}`)
      let worst = 0
      const done = (): boolean => {
        worst = Math.max(worst, net.uplinkBacklog('n1'))
        return nodes.slice(1).every((n) => n.delivered.length === 3)
      }
      expect(net.runUntil(done, 300_000)).toBe(true)
      return { worst, largestFrame }
    }
    const bound = 16 * 1024
    const shared = queued(bound)
    // Past the bound only what one call sends once the uplink is below it.
    expect(shared.worst).toBeLessThanOrEqual(bound + shared.largestFrame)
    // Bounded per peer only, it queues up to that bound for each leaf at once.
    expect(queued(Number.POSITIVE_INFINITY).worst).toBeGreaterThan(3 * shared.worst)
  })

  it('announces rank increases by the bytes per shard the header states, not the framed shard length', () => {
    // 262,140 bytes at k = 4 make 65,536-byte shards (4-byte length prefix) but carry 65,535 bytes each.
    const announces = (size: number): number => {
      const net = network(kernel, { heartbeats: false })
      let ihaves = 0
      const nodes = ['n0', 'n1', 'n2'].map((key) =>
        net.addNode(key, key === 'n1' ? { tamper: (_to, rpc) => ((ihaves += rpc.control?.ihave?.length ?? 0), rpc) } : {}),
      )
      for (const node of nodes) node.core.subscribe('t')
      net.connect('n0', 'n1')
      net.connect('n1', 'n2')
      formMeshes(net, nodes)
      ihaves = 0
      nodes[0].core.publish('t', payload(size, 13), 'edge')
      expect(net.runUntil(() => deliveredEverywhere(nodes, 'edge', [nodes[0]]), 5000)).toBe(true)
      return ihaves
    }
    expect(announces(262_140)).toBe(0)
    expect(announces(262_148)).toBeGreaterThan(0)
  })

  it('relays a message as large or small by the bytes per shard the header states: one peer or every peer with room', () => {
    // 8,188 bytes at k = 4 make 2,048-byte shards but carry 2,047 bytes each: a small message.
    const relaysOfOneShard = (size: number): number => {
      const net = network(kernel, { heartbeats: false })
      const held: Shard[] = []
      let relayed = 0
      const n0 = net.addNode('n0', { tamper: (_to, rpc) => (rpc.shards ? (held.push(...rpc.shards), { ...rpc, shards: undefined }) : rpc) })
      const n1 = net.addNode('n1', { tamper: (_to, rpc) => ((relayed += rpc.shards?.length ?? 0), rpc) })
      const leaves = ['n2', 'n3', 'n4'].map((key) => net.addNode(key))
      const nodes = [n0, n1, ...leaves]
      for (const node of nodes) node.core.subscribe('t')
      net.connect('n0', 'n1')
      for (const leaf of leaves) net.connect('n1', leaf.key)
      formMeshes(net, nodes)
      n0.core.publish('t', payload(size, 15), 'edge')
      net.runFor(10)
      net.inject('n0', 'n1', { shards: [held[0]] })
      net.runFor(10)
      return relayed
    }
    expect(relaysOfOneShard(8188)).toBe(3)
    expect(relaysOfOneShard(8196)).toBe(1)
  })

  it('a relay holding one dimension of a large message passes its shard to one peer, not relayFanout copies', () => {
    const net = network(kernel, { heartbeats: false })
    const held: Shard[] = []
    const relayed: string[] = []
    const n0 = net.addNode('n0', { tamper: (_to, rpc) => (rpc.shards ? (held.push(...rpc.shards), { ...rpc, shards: undefined }) : rpc) })
    const n1 = net.addNode('n1', { tamper: (to, rpc) => (relayed.push(...(rpc.shards ?? []).map(() => to)), rpc) })
    const leaves = ['n2', 'n3', 'n4'].map((key) => net.addNode(key))
    const nodes = [n0, n1, ...leaves]
    for (const node of nodes) node.core.subscribe('t')
    net.connect('n0', 'n1')
    for (const leaf of leaves) net.connect('n1', leaf.key)
    formMeshes(net, nodes)
    expect(n1.core.meshPeers('t')).toHaveLength(4)
    n0.core.publish('t', payload(40_000, 14), 'one')
    net.runFor(10)
    net.inject('n0', 'n1', { shards: [held[0]] })
    net.runFor(10)
    // Each leaf could use the shard (room 1), but a second copy of it is what meets the first again downstream.
    expect(relayed).toHaveLength(1)
    net.inject('n0', 'n1', { shards: held.slice(1) })
    expect(net.runUntil(() => deliveredEverywhere(nodes, 'one', [n0]), 5000)).toBe(true)
  })
})
