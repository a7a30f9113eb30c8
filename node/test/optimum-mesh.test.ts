import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { build, network, payload } from './support/optimum-fixtures.js'
import type { MemoryNetwork } from './support/memory-network.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

function allPairs(n: number): Array<[number, number]> {
  const edges: Array<[number, number]> = []
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) edges.push([a, b])
  return edges
}

const mesh = { min: 3, target: 5, max: 7 }

describe('optimum core: mesh', () => {
  it('keeps every mesh within min..max on a dense topology, symmetric, through churn', () => {
    const net = network(kernel, { core: { mesh } })
    const nodes = build(net, 24, allPairs(24), 't', 10_000)
    const check = (): void => {
      for (const node of nodes) {
        const peers = node.core.meshPeers('t')
        expect(peers.length).toBeGreaterThanOrEqual(mesh.min)
        expect(peers.length).toBeLessThanOrEqual(mesh.max)
        for (const peer of peers) expect(net.node(peer).core.meshPeers('t')).toContain(node.key)
      }
    }
    check()
    // Churn: a third of the links go away; heartbeats regraft.
    for (let a = 0; a < 24; a++) for (let b = a + 1; b < 24; b++) if ((a * 7 + b) % 3 === 0) net.disconnect(`n${a}`, `n${b}`)
    net.runFor(10_000)
    check()
  })

  it('answers a GRAFT for a topic it does not serve with a PRUNE, and a GRAFT during backoff with a PRUNE and a penalty', () => {
    const net = network(kernel, { core: { mesh } })
    const a = net.addNode('a')
    net.addNode('b')
    a.core.subscribe('t')
    net.connect('a', 'b')
    net.runFor(100)
    net.inject('b', 'a', { subscriptions: [{ topic: 'u', subscribe: true }], control: { graft: [{ topic: 'u' }] } })
    net.runFor(10)
    expect(a.core.meshPeers('u')).toEqual([])
    expect(a.core.score('b')).toBe(0)
    // b grafts t and a accepts; a leaves and rejoins (pruning b, with a backoff); b grafts again at once.
    net.inject('b', 'a', { subscriptions: [{ topic: 't', subscribe: true }], control: { graft: [{ topic: 't' }] } })
    net.runFor(10)
    expect(a.core.meshPeers('t')).toEqual(['b'])
    a.core.unsubscribe('t')
    a.core.subscribe('t')
    expect(a.core.meshPeers('t')).toEqual([])
    net.inject('b', 'a', { control: { graft: [{ topic: 't' }] } })
    net.runFor(10)
    expect(a.core.meshPeers('t')).toEqual([])
    expect(a.core.score('b')).toBeLessThan(0)
  })

  it('a full mesh prunes a newcomer with peer exchange, so it can find other peers', () => {
    const net = network(kernel, { core: { mesh: { min: 2, target: 2, max: 2 } } })
    const nodes = build(net, 3, [[0, 1], [0, 2], [1, 2]], 't')
    expect(nodes[0].core.meshPeers('t').sort()).toEqual(['n1', 'n2'])
    const newcomer = net.addNode('new')
    newcomer.core.subscribe('t')
    net.connect('new', 'n0')
    net.runFor(3000)
    expect(nodes[0].core.meshPeers('t')).not.toContain('new')
    expect(newcomer.dials.map((d) => d.id).sort()).toEqual(['n1', 'n2'])
    expect(newcomer.dials.every((d) => d.addrs.length > 0)).toBe(true)
  })

  it('publishes to a topic it does not subscribe to through fanout peers, which expire unused', () => {
    const net = network(kernel, { core: { mesh } })
    const nodes = build(net, 4, [[0, 1], [0, 2], [1, 2], [2, 3]], 't')
    const outsider = net.addNode('out')
    net.connect('out', 'n0')
    net.connect('out', 'n3')
    net.runFor(2000)
    expect(outsider.core.topics()).toEqual([])
    const data = payload(10_000, 1)
    const result = outsider.core.publish('t', data, 'fan')
    expect(result.peers).toBe(2)
    expect(net.runUntil(() => nodes.every((n) => n.delivered.length === 1), 5000)).toBe(true)
    expect(outsider.delivered).toEqual([])
  })

  it('is deterministic for a seed', () => {
    const run = (seed: number): string => {
      const net: MemoryNetwork = network(kernel, { seed, core: { mesh }, delayMs: (a, b) => 3 + ((a.charCodeAt(1) * 31 + b.charCodeAt(1)) % 17) })
      const nodes = Array.from({ length: 16 }, (_, i) => net.addNode(`n${i}`, { uploadBytesPerMs: 500 + 100 * (i % 4) }))
      for (const node of nodes) node.core.subscribe('t')
      for (let i = 0; i < 16; i++) for (const j of [1, 3, 7]) net.connect(`n${i}`, `n${(i + j) % 16}`)
      net.runFor(3000)
      for (let i = 0; i < 4; i++) nodes[i * 3].core.publish('t', payload(20_000, i), `d${i}`)
      net.runFor(5000)
      return JSON.stringify(nodes.map((n) => [n.core.meshPeers('t').sort(), n.delivered.map((d) => d.id), n.bytesSent, n.framesSent]))
    }
    expect(run(7)).toBe(run(7))
    expect(run(7)).not.toBe(run(8))
  })
})
