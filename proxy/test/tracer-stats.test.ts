import { describe, expect, it } from 'vitest'
import { computeSnapshot, type TracedMessage } from '../tracer/stats.js'
import { parseWindow } from '../tracer/window.js'

const message = (over: Partial<TracedMessage>): TracedMessage => ({
  id: 'm',
  firstSeen: 1_000,
  topic: 't',
  algorithm: 'optimum',
  delivered: new Map(),
  shards: new Map(),
  redundant: new Map(),
  ...over,
})

describe('tracer figures', () => {
  it('counts deliveries to nodes other than the publisher, per-delivery delays, shard bytes and bloat', () => {
    const s = computeSnapshot(
      [
        message({
          published: 1_000,
          publisher: 'P',
          size: 1000,
          k: 4,
          delivered: new Map([['A', 1_100], ['B', 1_300], ['C', 1_200]]),
          shards: new Map([['A', 4], ['B', 6], ['C', 5]]),
          redundant: new Map([['B', 2], ['C', 1]]),
        }),
      ],
      { windowSeconds: 10, nodeCount: 5, activeNodes: 4, algorithm: 'unknown' },
    )
    expect(s).toMatchObject({
      algorithm: 'optimum',
      active_nodes: 4,
      unhealthy_nodes: 1,
      published_messages: 1,
      delivered_messages: 3,
      duplicate_messages: 3,
      total_bytes_moved: 15 * 250,
      ideal_byte_complexity: 3000,
      window_seconds: 10,
    })
    expect(s.bloat_factor).toBeCloseTo(1.25)
    expect(s.average_delay_seconds).toBeCloseTo(0.2)
    expect(s.p75).toBeCloseTo(0.3)
    expect(s.messages.m).toMatchObject({ delay_sec: 0.3, duplicates: 3, bytes_moved: 3750, peers_seen: { A: {}, B: {}, C: {} } })
    expect(s.messages.m!.published).toBe(new Date(1_000).toISOString())
  })

  it('moves a whole message per delivery in gossipsub mode, and reports zeros for an empty window', () => {
    const s = computeSnapshot(
      [message({ algorithm: 'gossipsub', published: 0, publisher: 'P', size: 10, delivered: new Map([['P', 0], ['A', 5]]) })],
      { windowSeconds: 10, nodeCount: 2, activeNodes: 2, algorithm: 'unknown' },
    )
    expect(s).toMatchObject({ total_bytes_moved: 10, ideal_byte_complexity: 10, bloat_factor: 1, delivered_messages: 1 })
    const empty = computeSnapshot([], { windowSeconds: 5, nodeCount: 4, activeNodes: 0, algorithm: 'unknown' })
    expect(empty).toMatchObject({ published_messages: 0, p95: 0, bloat_factor: 0, unhealthy_nodes: 4, messages: {} })
  })

  it('reads the windows mump2p-cli sends', () => {
    expect(parseWindow(undefined)).toBe(10)
    expect(parseWindow('10s')).toBe(10)
    expect(parseWindow('1m')).toBe(60)
    expect(parseWindow('500ms')).toBe(1)
    expect(parseWindow('30')).toBe(30)
    expect(() => parseWindow('2h')).toThrow(/at most/)
    expect(() => parseWindow('soon')).toThrow(/duration/)
  })
})
