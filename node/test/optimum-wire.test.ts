import { describe, expect, it } from 'vitest'
import { shardLengthFor } from '../../common/rlnc/index.js'
import type { Rpc, Shard, ShardHeader } from '../optimum/types.js'
import { decodeRpc, encodedLength, encodeRpc, maxFrameBytes, splitRpc, WIRE_LIMITS, WireError } from '../optimum/wire.js'

const limits = { maxMessageSize: 1024 * 1024 }

function header(overrides: Partial<ShardHeader> = {}): ShardHeader {
  return {
    messageId: 'm-1',
    topic: 'news',
    length: 1000,
    k: 4,
    hash: new Uint8Array(32).fill(7),
    publisher: new Uint8Array(36).fill(1),
    signature: new Uint8Array(64).fill(2),
    publishedAt: 1_764_000_000_123.25,
    ...overrides,
  }
}

function shard(overrides: Partial<Shard> = {}): Shard {
  return {
    messageId: 'm-1',
    header: header(),
    hop: 2,
    coefficients: new Uint8Array([1, 2, 3, 4]),
    payload: new Uint8Array(shardLengthFor(1000, 4)).fill(9),
    ...overrides,
  }
}

const full: Rpc = {
  subscriptions: [
    { topic: 'news', subscribe: true },
    { topic: 'old', subscribe: false },
  ],
  shards: [shard(), shard({ header: undefined, hop: 0 })],
  control: {
    graft: [{ topic: 'news' }],
    prune: [{ topic: 'old', peers: [{ id: '12D3KooWabc', addrs: ['/ip4/127.0.0.1/tcp/7070'] }, { id: '12D3KooWdef', addrs: [] }], backoffSeconds: 60 }],
    ihave: [{ topic: 'news', messages: [{ messageId: 'm-2', rank: 3 }, { messageId: 'm-3', rank: 0 }] }],
    iwant: [{ messageId: 'm-2', count: 1 }],
    idontwant: ['m-1', 'm-4'],
  },
}

/** The frame a peer would send for `rpc`, bypassing nothing: only the encoder. */
const roundTrip = (rpc: Rpc): Rpc => decodeRpc(encodeRpc(rpc), limits)

describe('optimum wire codec', () => {
  it('round-trips every frame part', () => {
    const back = roundTrip(full)
    expect(back.subscriptions).toEqual(full.subscriptions)
    expect(back.control).toEqual(full.control)
    expect(back.shards).toHaveLength(2)
    const [first, second] = back.shards!
    const { hash, publisher, signature, ...scalars } = first!.header!
    const sent = header()
    expect(scalars).toEqual({ messageId: sent.messageId, topic: sent.topic, length: sent.length, k: sent.k, publishedAt: sent.publishedAt })
    expect([hash, publisher, signature].map((b) => Buffer.from(b))).toEqual([sent.hash, sent.publisher, sent.signature].map((b) => Buffer.from(b)))
    expect(first!.hop).toBe(2)
    expect(Buffer.from(first!.payload)).toEqual(Buffer.from(full.shards![0]!.payload))
    expect(second!.header).toBeUndefined()
    expect(second!.hop).toBe(0)
  })

  it('leaves absent parts absent; an empty frame is legal', () => {
    expect(roundTrip({})).toEqual({})
    expect(roundTrip({ control: {} })).toEqual({})
    expect(roundTrip({ control: { idontwant: ['x'] } })).toEqual({ control: { idontwant: ['x'] } })
  })

  it('encodedLength is the encoded size, without encoding', () => {
    const cases: Rpc[] = [
      {},
      full,
      { subscriptions: [{ topic: 'é'.repeat(100), subscribe: false }] },
      { shards: [shard({ payload: new Uint8Array(shardLengthFor(1024 * 1024, 4)), header: header({ length: 1024 * 1024 }) })] },
      { control: { ihave: [{ topic: 't', messages: Array.from({ length: 300 }, (_, i) => ({ messageId: `id-${i}`, rank: i % 5 })) }] } },
      { control: { prune: [{ topic: 't', peers: [], backoffSeconds: 0 }] } },
    ]
    for (const rpc of cases) expect(encodedLength(rpc)).toBe(encodeRpc(rpc).length)
  })

  it('refuses bytes that are not a frame', () => {
    expect(() => decodeRpc(new Uint8Array([0xff, 0xff, 0xff]), limits)).toThrow(WireError)
    expect(() => decodeRpc(new Uint8Array(maxFrameBytes(limits.maxMessageSize) + 1), limits)).toThrow(/over the limit/)
  })

  const refusals: Array<[string, Rpc, RegExp]> = [
    ['an empty topic', { subscriptions: [{ topic: '', subscribe: true }] }, /topic/],
    ['a topic with control characters', { control: { graft: [{ topic: 'a\nb' }] } }, /topic/],
    ['a topic over 256 bytes', { subscriptions: [{ topic: 'x'.repeat(257), subscribe: true }] }, /topic/],
    ['a message id with a space', { control: { idontwant: ['a b'] } }, /message id/],
    ['a shard without coefficients', { shards: [shard({ header: undefined, coefficients: new Uint8Array(0) })] }, /coefficients/],
    ['a shard with an empty payload', { shards: [shard({ header: undefined, payload: new Uint8Array(0) })] }, /payload/],
    ['coefficients that disagree with k', { shards: [shard({ coefficients: new Uint8Array(5) })] }, /k=4/],
    ['a payload that disagrees with the header', { shards: [shard({ payload: new Uint8Array(10) })] }, /rule out/],
    ['a header of another message', { shards: [shard({ messageId: 'm-9' })] }, /header of m-1/],
    ['a message over the size limit', { shards: [shard({ header: header({ length: 2 * 1024 * 1024 }) })] }, /limit/],
    ['a short hash', { shards: [shard({ header: header({ hash: new Uint8Array(31) }) })] }, /hash/],
    ['a missing signature', { shards: [shard({ header: header({ signature: new Uint8Array(0) }) })] }, /signature/],
    ['a negative publish time', { shards: [shard({ header: header({ publishedAt: -1 }) })] }, /published_at/],
    ['an absurd hop count', { shards: [shard({ hop: 1000 })] }, /hop/],
    ['an absurd backoff', { control: { prune: [{ topic: 't', peers: [], backoffSeconds: 1e6 }] } }, /backoff/],
    ['too many exchanged peers', { control: { prune: [{ topic: 't', peers: Array.from({ length: 33 }, () => ({ id: 'p', addrs: [] })), backoffSeconds: 1 }] } }, /exchanged peers/],
    ['too many IDONTWANTs', { control: { idontwant: Array.from({ length: WIRE_LIMITS.ids + 1 }, (_, i) => `m${i}`) } }, /IDONTWANT/],
    ['too many IHAVE entries', { control: { ihave: [{ topic: 't', messages: Array.from({ length: WIRE_LIMITS.ids + 1 }, (_, i) => ({ messageId: `m${i}`, rank: 1 })) }] } }, /IHAVE/],
    ['too many shards', { shards: Array.from({ length: WIRE_LIMITS.shards + 1 }, () => shard({ header: undefined, payload: new Uint8Array(1) })) }, /shards/],
    ['an IWANT for more than k shards', { control: { iwant: [{ messageId: 'm', count: 300 }] } }, /IWANT/],
  ]
  it.each(refusals)('refuses %s', (_what, rpc, message) => {
    expect(() => roundTrip(rpc)).toThrow(message)
  })

  it('splits what the core sends into frames the other side accepts, in order, nothing lost', () => {
    const small = (i: number): Shard => shard({ messageId: `s-${i}`, header: undefined, payload: new Uint8Array(300).fill(i & 0xff) })
    const rpc: Rpc = {
      subscriptions: Array.from({ length: 300 }, (_, i) => ({ topic: `t${i}`, subscribe: true })),
      shards: Array.from({ length: 1000 }, (_, i) => small(i)),
      control: { idontwant: Array.from({ length: 12_000 }, (_, i) => `d${i}`), ihave: [{ topic: 't', messages: Array.from({ length: 7000 }, (_, i) => ({ messageId: `h${i}`, rank: 1 })) }] },
    }
    const frames = splitRpc(rpc, 64 * 1024)
    const back = frames.map((frame) => {
      const bytes = encodeRpc(frame)
      expect(bytes.length).toBeLessThanOrEqual(64 * 1024)
      return decodeRpc(bytes, limits)
    })
    expect(back.flatMap((f) => f.shards ?? []).map((s) => s.messageId)).toEqual(rpc.shards!.map((s) => s.messageId))
    expect(back.flatMap((f) => f.subscriptions ?? [])).toEqual(rpc.subscriptions)
    expect(back.flatMap((f) => f.control?.idontwant ?? [])).toEqual(rpc.control!.idontwant)
    expect(back.flatMap((f) => f.control?.ihave ?? []).flatMap((h) => h.messages)).toEqual(rpc.control!.ihave![0]!.messages)
    expect(splitRpc(full, 64 * 1024)).toEqual([full])
    const big = { shards: [shard({ header: header({ length: 1024 * 1024 }), payload: new Uint8Array(shardLengthFor(1024 * 1024, 4)) })] }
    expect(splitRpc(big, maxFrameBytes(1024 * 1024))).toEqual([big])
  })
})
