import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import type { Rpc, Shard } from '../optimum/types.js'
import { deliveredEverywhere, formMeshes, network, payload } from './support/optimum-fixtures.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

/** Drops shards towards `victim` once it has been sent `keep` of them, while `gate.on`. */
function dropAfter(victim: string, keep: number, gate: { on: boolean }): (to: string, rpc: Rpc) => Rpc {
  let passed = 0
  return (to, rpc) => {
    if (!gate.on || to !== victim || rpc.shards === undefined) return rpc
    const shards = rpc.shards.filter(() => passed++ < keep)
    return { ...rpc, shards }
  }
}

describe('optimum core: repair through IHAVE/IWANT', () => {
  it('a node that got no shard at all completes through IWANT', () => {
    const net = network(kernel)
    const blocking = { on: true }
    const n = 5
    const nodes = Array.from({ length: n }, (_, i) =>
      net.addNode(`n${i}`, { tamper: (to, rpc) => (blocking.on && to === 'n4' && rpc.shards ? { ...rpc, shards: undefined } : rpc) }),
    )
    for (const node of nodes) node.core.subscribe('t')
    for (const [a, b] of [[0, 1], [1, 2], [2, 3], [3, 4], [1, 4]]) net.connect(`n${a}`, `n${b}`)
    net.runFor(3000)
    const data = payload(20_000, 9)
    nodes[0].core.publish('t', data, 'lost')
    expect(net.runUntil(() => deliveredEverywhere(nodes.slice(0, 4), 'lost', [nodes[0]]), 5000)).toBe(true)
    expect(nodes[4].delivered).toHaveLength(0)
    blocking.on = false
    expect(net.runUntil(() => nodes[4].delivered.length === 1, 5000)).toBe(true)
    expect(nodes[4].delivered[0].data).toEqual(data)
    expect(nodes[4].core.stats().iwantSent).toBeGreaterThan(0)
  })

  it('a node short of shards asks for exactly what it lacks', () => {
    const net = network(kernel)
    net.keepTraces = true
    const gate = { on: true }
    const nodes = Array.from({ length: 3 }, (_, i) => net.addNode(`n${i}`, i === 1 ? { tamper: dropAfter('n2', 2, gate) } : {}))
    for (const node of nodes) node.core.subscribe('t')
    net.connect('n0', 'n1')
    net.connect('n1', 'n2')
    net.runFor(3000)
    const data = payload(40_000, 10)
    nodes[0].core.publish('t', data, 'short')
    expect(net.runUntil(() => nodes[1].delivered.length === 1, 5000)).toBe(true)
    net.runFor(100)
    expect(nodes[2].delivered).toHaveLength(0)
    gate.on = false
    expect(net.runUntil(() => nodes[2].delivered.length === 1, 5000)).toBe(true)
    expect(nodes[2].delivered[0].data).toEqual(data)
    const got = nodes[2].traces.filter((e) => e.kind === 'new_shard').length
    expect(got).toBe(4)
    expect(nodes[2].core.stats().iwantSent).toBeGreaterThan(0)
  })

  it('a useless shard from a peer that decoded is asked for again at once, not at the next heartbeat', () => {
    // No heartbeats after the mesh forms: no IHAVE, no stalled-message retry, so only the immediate re-ask can finish.
    const net = network(kernel, { heartbeats: false })
    net.keepTraces = true
    let first: Shard | undefined
    let spoiled = false
    const spoil = (to: string, rpc: Rpc): Rpc => {
      if (to !== 'n2' || rpc.shards === undefined) return rpc
      first ??= rpc.shards[0]
      if (spoiled || nodes[1].delivered.length === 0 || rpc.control?.idontwant !== undefined) return rpc
      // n1's first shard after its decode and IDONTWANT: a copy of one n2 holds already.
      spoiled = true
      return { ...rpc, shards: rpc.shards.map((shard) => ({ ...shard, coefficients: first!.coefficients, payload: first!.payload })) }
    }
    const nodes = Array.from({ length: 3 }, (_, i) => net.addNode(`n${i}`, i === 1 ? { tamper: spoil } : {}))
    for (const node of nodes) node.core.subscribe('t')
    net.connect('n0', 'n1')
    net.connect('n1', 'n2')
    formMeshes(net, nodes)
    expect(nodes[1].core.meshPeers('t')).toHaveLength(2)
    const data = payload(40_000, 11)
    nodes[0].core.publish('t', data, 'dud')
    expect(net.runUntil(() => nodes[2].delivered.length === 1, 5000)).toBe(true)
    expect(spoiled).toBe(true)
    expect(nodes[2].traces.some((e) => e.kind === 'unhelpful_shard' && e.peer === 'n1')).toBe(true)
    expect(nodes[2].delivered[0].data).toEqual(data)
  })

  it('a pull after an IDONTWANT waits while shards are still coming in, and goes out once they stopped', () => {
    // No heartbeats after the mesh forms: only the IDONTWANT can make n2 ask.
    const net = network(kernel, { heartbeats: false })
    const held: Shard[] = []
    const asked: number[] = []
    // n0's shards to n2 are held back and handed over by the test at chosen times.
    const n0 = net.addNode('n0', { tamper: (to, rpc) => (to === 'n2' && rpc.shards ? (held.push(...rpc.shards), { ...rpc, shards: undefined }) : rpc) })
    const n1 = net.addNode('n1')
    const n2 = net.addNode('n2', {
      tamper: (to, rpc) => {
        for (const want of rpc.control?.iwant ?? []) if (to === 'n1') asked.push(want.count)
        return rpc
      },
    })
    for (const node of [n0, n1, n2]) node.core.subscribe('t')
    net.connect('n0', 'n2')
    net.connect('n1', 'n2')
    formMeshes(net, [n0, n1, n2])
    n0.core.publish('t', payload(40_000, 12), 'gap')
    net.runFor(10)
    expect(held.length).toBeGreaterThanOrEqual(2)
    net.inject('n0', 'n2', { shards: [held[0]] })
    net.runFor(100)
    net.inject('n0', 'n2', { shards: [held[1]] })
    net.runFor(50)
    // Rank 2 after a 100 ms gap, the last rise 50 ms ago: a third shard is most likely on its way.
    net.inject('n1', 'n2', { control: { idontwant: ['gap'] } })
    net.runFor(20)
    expect(asked).toEqual([])
    net.runFor(200)
    // Nothing came for longer than the gap: the next call into n2's core (any frame) sends the deferred ask.
    net.inject('n0', 'n2', { control: { ihave: [] } })
    net.runFor(20)
    expect(asked).toEqual([2])
    expect(n2.delivered).toHaveLength(0)
  })
})
