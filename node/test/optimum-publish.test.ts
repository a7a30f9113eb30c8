import { beforeAll, describe, expect, it } from 'vitest'
import { OptimumError } from '../../common/errors.js'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { headerSigningBytes } from '../optimum/header.js'
import type { Rpc } from '../optimum/types.js'
import { build, network, payload } from './support/optimum-fixtures.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof OptimumError ? err.code : 'not an OptimumError'
  }
  return undefined
}

describe('optimum core: publish', () => {
  it('refuses messages above the limit, bad topics and ids', () => {
    const net = network(kernel, { core: { maxMessageSize: 1000 } })
    const [a] = build(net, 2, [[0, 1]], 't')
    expect(codeOf(() => a.core.publish('t', new Uint8Array(1001), 'big'))).toBe('too_large')
    expect(codeOf(() => a.core.publish('', new Uint8Array(1), 'x'))).toBe('invalid_argument')
    expect(codeOf(() => a.core.publish('t', new Uint8Array(1), 'has space'))).toBe('invalid_argument')
    expect(a.core.publish('t', new Uint8Array(1000), 'max').fresh).toBe(true)
  })

  it('same id and content is a retry (fresh: false, nothing sent); other content is already_exists', () => {
    const net = network(kernel)
    const frames: Rpc[] = []
    const a = net.addNode('a', { tamper: (_to, rpc) => (frames.push(rpc), rpc) })
    const b = net.addNode('b')
    a.core.subscribe('t')
    b.core.subscribe('t')
    net.connect('a', 'b')
    net.runFor(2000)
    const data = payload(5000, 2)
    expect(a.core.publish('t', data, 'once')).toEqual({ id: 'once', fresh: true, peers: 1 })
    const sent = frames.length
    expect(a.core.publish('t', data.slice(), 'once')).toEqual({ id: 'once', fresh: false, peers: 0 })
    expect(frames.length).toBe(sent)
    expect(codeOf(() => a.core.publish('t', payload(5000, 3), 'once'))).toBe('already_exists')
    net.runFor(1000)
    expect(b.delivered.map((d) => d.id)).toEqual(['once'])
    // A node that received the message also knows its id.
    expect(b.core.publish('t', data, 'once').fresh).toBe(false)
    expect(codeOf(() => b.core.publish('t', new Uint8Array(1), 'once'))).toBe('already_exists')
  })

  it('sends ceil(k × mult) shards spread round-robin over the mesh, each peer different ones, header on the first', () => {
    const net = network(kernel, { core: { shardFactor: 4, shardMultiplier: 1.5 } })
    const frames: Array<{ to: string; rpc: Rpc }> = []
    const nodes = build(net, 4, [[0, 1], [0, 2], [0, 3]], 't')
    const pub = net.addNode('p', { tamper: (to, rpc) => (frames.push({ to, rpc }), rpc) })
    pub.core.subscribe('t')
    for (const node of nodes) net.connect('p', node.key)
    net.runFor(3000)
    frames.length = 0
    pub.core.publish('t', payload(9000, 4), 'spread')
    const shards = frames.flatMap(({ to, rpc }) => (rpc.shards ?? []).map((shard) => ({ to, shard })))
    expect(shards).toHaveLength(6)
    const perPeer = new Map<string, number>()
    for (const { to } of shards) perPeer.set(to, (perPeer.get(to) ?? 0) + 1)
    expect([...perPeer.values()].sort()).toEqual([1, 1, 2, 2])
    for (const { rpc } of frames) if (rpc.shards) expect(rpc.shards.map((s) => s.header !== undefined)).toEqual(rpc.shards.map((_, i) => i === 0))
    expect(new Set(shards.map(({ shard }) => Buffer.from(shard.coefficients).toString('hex'))).size).toBe(6)
    expect(shards.every(({ shard }) => shard.hop === 0)).toBe(true)
  })
})

describe('headerSigningBytes', () => {
  const header = { messageId: 'id-1', topic: 'news', length: 1234, k: 4, hash: new Uint8Array(32).fill(9), publishedAt: 1_700_000_000_123 }

  it('is canonical: the same header gives the same bytes, any field change other bytes', () => {
    const bytes = headerSigningBytes(header)
    expect(headerSigningBytes({ ...header })).toEqual(bytes)
    const variants = [
      { ...header, messageId: 'id-2' },
      { ...header, topic: 'newz' },
      { ...header, length: 1235 },
      { ...header, k: 5 },
      { ...header, hash: new Uint8Array(32).fill(8) },
      { ...header, publishedAt: header.publishedAt + 1 },
      // Moving a byte between id and topic must not collide.
      { ...header, messageId: 'id-1n', topic: 'ews' },
    ]
    for (const variant of variants) expect(headerSigningBytes(variant)).not.toEqual(bytes)
  })

  it('starts with a domain tag and has a fixed layout', () => {
    const bytes = headerSigningBytes(header)
    expect(new TextDecoder().decode(bytes.subarray(0, 23))).toBe('optimum/shard-header/v1')
    expect(bytes.length).toBe(24 + 4 + 4 + 4 + 4 + 8 + 1 + 32 + 8)
  })
})
