import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { network, payload } from './support/optimum-fixtures.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

/** Shards owed to a slow peer (backpressure) are paid in full, however many and however long it takes. */
describe('optimum core: owed shards', () => {
  it('5,000 × 1 KiB messages to one peer behind a slow uplink all arrive', () => {
    const net = network(kernel, { seed: 11 })
    // 1 MB/s: the burst takes ~8 s to leave, longer than retainMs, and owes more messages than 4,096.
    const a = net.addNode('n0', { uploadBytesPerMs: 1000 })
    const b = net.addNode('n1')
    for (const node of [a, b]) node.core.subscribe('t')
    net.connect('n0', 'n1')
    net.runFor(3000)
    let peakDeferred = 0
    for (let i = 0; i < 5000; i++) a.core.publish('t', payload(1024, i), `m${i}`)
    peakDeferred = a.core.stats().deferred
    net.runUntil(() => b.delivered.length >= 5000, 120_000)
    expect(b.delivered.length).toBe(5000)
    expect(new Set(b.delivered.map((d) => d.id)).size).toBe(5000)
    expect(peakDeferred).toBeGreaterThan(4096)
    expect(net.connected('n0', 'n1')).toBe(true)
    net.runFor(10_000)
    expect(a.core.stats().deferred).toBe(0)
    expect(a.core.stats().messages).toBe(0)
  }, 120_000)

  it('a peer that does not drain is cut off at maxOwedBytesPerPeer, and what it pinned is freed', () => {
    const bound = 1024 * 1024
    const net = network(kernel, { seed: 12, core: { limits: { maxOwedBytesPerPeer: bound } } })
    // 10 bytes/ms: one 64 KiB message's shards take ten seconds to leave; the burst can never be paid.
    const a = net.addNode('n0', { uploadBytesPerMs: 10 })
    const b = net.addNode('n1')
    for (const node of [a, b]) node.core.subscribe('t')
    net.connect('n0', 'n1')
    net.runFor(3000)
    for (let i = 0; i < 40 && net.connected('n0', 'n1'); i++) {
      a.core.publish('t', payload(64 * 1024, i), `big${i}`)
      expect(a.core.stats().retainedBytes).toBeLessThanOrEqual(bound + 2 * 66 * 1024)
    }
    expect(net.connected('n0', 'n1')).toBe(false)
    expect(a.core.stats().overduePeers).toBe(1)
    expect(a.core.stats().deferred).toBe(0)
    net.runFor(6000)
    expect(a.core.stats().messages).toBe(0)
  })

  it('at maxRetainedBytes, the peer owed the most is cut off rather than states it is owed dropped', () => {
    const net = network(kernel, { seed: 13, core: { limits: { maxRetainedBytes: 1024 * 1024 } } })
    const a = net.addNode('n0', { uploadBytesPerMs: 10 })
    const b = net.addNode('n1')
    for (const node of [a, b]) node.core.subscribe('t')
    net.connect('n0', 'n1')
    net.runFor(3000)
    for (let i = 0; i < 40 && net.connected('n0', 'n1'); i++) a.core.publish('t', payload(64 * 1024, i), `big${i}`)
    expect(net.connected('n0', 'n1')).toBe(false)
    expect(a.core.stats().overduePeers).toBe(1)
    expect(a.core.stats().retainedBytes).toBeLessThanOrEqual(1024 * 1024)
    expect(a.core.stats().owedLost).toBe(0)
  })
})
