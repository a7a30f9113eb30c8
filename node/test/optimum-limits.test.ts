import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { headerSigningBytes, sha256 } from '../optimum/header.js'
import type { Rpc, Shard } from '../optimum/types.js'
import { build, network, payload } from './support/optimum-fixtures.js'
import { createHash } from 'node:crypto'

let kernel: Kernel

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex')

beforeAll(async () => {
  kernel = await loadKernel()
})

/** A header signed the way the memory network signs, for a message `id` of `length` bytes from `publisher`. */
function signedShard(publisher: string, id: string, length: number, k = 4): Shard {
  const unsigned = { messageId: id, topic: 't', length, k, hash: sha256(new Uint8Array(length)), publishedAt: 0 }
  const publicKey = new TextEncoder().encode(publisher)
  const signature = createHash('sha256').update(publicKey).update(headerSigningBytes(unsigned)).digest()
  const shardLength = Math.ceil((length + 4) / k)
  const coefficients = new Uint8Array(k).fill(1)
  return { messageId: id, hop: 0, header: { ...unsigned, publisher: publicKey, signature }, coefficients, payload: new Uint8Array(shardLength).fill(7) }
}

describe('optimum core: limits and abuse', () => {
  it('cuts off a peer that sends garbage, and holds no state for it', () => {
    const net = network(kernel)
    const [v, g] = build(net, 2, [[0, 1]], 't')
    const garbage: unknown[] = [
      { shards: 'nope' },
      { shards: [{ messageId: 5, hop: 0, coefficients: new Uint8Array(4), payload: new Uint8Array(4) }] },
      { subscriptions: [{ topic: '', subscribe: true }] },
      { control: { graft: [{ topic: 42 }] } },
      { shards: [{ ...signedShard('g', 'bad-size', 1000), payload: new Uint8Array(3) }] },
      { shards: [{ ...signedShard('g', 'huge', 1000), header: { ...signedShard('g', 'huge', 1000).header!, length: 10 ** 12 } }] },
      null,
      { shards: [{ ...signedShard('g', 'forged', 100), header: { ...signedShard('g', 'forged', 100).header!, signature: new Uint8Array(32) } }] },
    ]
    for (let i = 0; net.connected('n0', 'n1') && i < 100; i++) net.inject(g.key, v.key, garbage[i % garbage.length] as Rpc)
    net.runFor(100)
    expect(net.connected('n0', 'n1')).toBe(false)
    expect(v.core.peers()).toEqual([])
    expect(v.core.stats().messages).toBe(0)
  })

  it('a peer that opens more undecoded messages than allowed is refused, scored down and disconnected; memory stays bounded', () => {
    const maxBytes = 4 * 1024 * 1024
    const net = network(kernel, { core: { limits: { maxUndecodedBytesPerPeer: maxBytes, maxUndecodedPerPeer: 64 } } })
    const [v, f] = build(net, 2, [[0, 1]], 't')
    let peak = 0
    for (let i = 0; net.connected('n0', 'n1') && i < 10_000; i++) {
      // Each opens a 256 KiB decoder and never completes.
      net.inject(f.key, v.key, { shards: [signedShard('n1', `flood-${i}`, 256 * 1024)] })
      net.runFor(1)
      peak = Math.max(peak, v.core.stats().undecodedBytes)
    }
    expect(net.connected('n0', 'n1')).toBe(false)
    expect(peak).toBeLessThanOrEqual(maxBytes)
    expect(v.core.stats().undecoded).toBeLessThanOrEqual(64)
    net.runFor(61_000)
    expect(v.core.stats().undecoded).toBe(0)
    expect(v.core.stats().undecodedBytes).toBe(0)
  })

  it('drops shards beyond the per-frame cap and scores the sender', () => {
    const net = network(kernel, { core: { limits: { maxShardsPerRpc: 4 } } })
    const [v, f] = build(net, 2, [[0, 1]], 't')
    const shard = signedShard('n1', 'many', 100)
    net.inject(f.key, v.key, { shards: Array.from({ length: 10 }, () => shard) })
    net.runFor(10)
    expect(v.core.score('n1')).toBeLessThan(0)
    expect(v.core.stats().shardsReceived).toBe(4)
  })

  it('1,000 concurrent 64 KiB messages all decode', () => {
    const net = network(kernel, { seed: 3 })
    const nodes = build(net, 6, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 3], [1, 4]], 't')
    const sent = new Map<string, Uint8Array>()
    for (let i = 0; i < 1000; i++) {
      const data = payload(64 * 1024, i)
      sent.set(`c${i}`, data)
      nodes[i % 3].core.publish('t', data, `c${i}`)
    }
    // Each node gets every message but its own: n0 published 334, n1 and n2 333 each.
    const expected = [666, 667, 667, 1000, 1000, 1000]
    expect(net.runUntil(() => nodes.every((node, i) => node.delivered.length >= expected[i]), 120_000)).toBe(true)
    nodes.forEach((node, i) => {
      expect(node.delivered.length).toBe(expected[i])
      expect(new Set(node.delivered.map((d) => d.id)).size).toBe(expected[i])
      for (const message of node.delivered) expect(sha(message.data)).toBe(sha(sent.get(message.id)!))
    })
  }, 120_000)

  it('state stays flat over 100,000 small messages', () => {
    const net = network(kernel, { seed: 4, core: { limits: { retainMs: 2000, seenTtlMs: 10_000, messageTtlMs: 5000 } } })
    const nodes = build(net, 2, [[0, 1]], 't')
    let peakMessages = 0
    let peakSeen = 0
    let peakDeferred = 0
    const counts: number[] = []
    for (let i = 0; i < 100_000; i++) {
      nodes[0].core.publish('t', payload(64, i), `s${i}`)
      net.runFor(1)
      if (i % 10_000 === 9999) {
        counts.push(nodes[1].core.stats().messages)
        for (const node of nodes) {
          const stats = node.core.stats()
          peakMessages = Math.max(peakMessages, stats.messages)
          peakSeen = Math.max(peakSeen, stats.seen)
          peakDeferred = Math.max(peakDeferred, stats.deferred)
        }
      }
    }
    net.runFor(1000)
    expect(nodes[1].delivered.length).toBe(100_000)
    // About retainMs worth of messages (one per ms) plus a heartbeat of slack, however many have passed.
    expect(peakMessages).toBeLessThanOrEqual(2000 + 2 * 700)
    expect(peakSeen).toBeLessThanOrEqual(10_000 + 700)
    expect(peakDeferred).toBe(0)
    expect(Math.max(...counts.slice(1)) - Math.min(...counts.slice(1))).toBeLessThan(800)
  }, 120_000)
})
