import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, seededRandomBytes, type Kernel } from '../../common/rlnc/index.js'
import type { Rpc } from '../optimum/types.js'
import { build, network, payload } from './support/optimum-fixtures.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

/** Structured garbage: the right field names with values of every wrong type and size. */
function garbage(random: (out: Uint8Array) => void): unknown {
  const byte = (): number => {
    const b = new Uint8Array(1)
    random(b)
    return b[0]
  }
  const values = (): unknown[] => [
    undefined,
    null,
    -1,
    2 ** 40,
    Number.NaN,
    'x',
    '',
    't',
    {},
    [],
    [null],
    new Uint8Array(byte()),
    new Uint8Array(4).fill(1),
    { topic: 't', subscribe: true },
    { messageId: 'm', rank: byte() },
  ]
  const pick = (): unknown => {
    const list = values()
    return list[byte() % list.length]
  }
  const header = { messageId: pick(), topic: pick(), length: pick(), k: pick(), hash: pick(), publisher: pick(), signature: pick(), publishedAt: pick() }
  const shard = { messageId: byte() % 2 ? 'm' : pick(), header: byte() % 2 ? header : pick(), hop: pick(), coefficients: pick(), payload: pick() }
  const control = { graft: [{ topic: pick() }], prune: [{ topic: pick(), peers: [pick()], backoffSeconds: pick() }], ihave: [{ topic: pick(), messages: [pick()] }], iwant: [pick(), { messageId: 'm', count: pick() }], idontwant: [pick()] }
  const rpc: Record<string, unknown> = {}
  if (byte() % 2) rpc.subscriptions = byte() % 2 ? [pick(), { topic: pick(), subscribe: pick() }] : pick()
  if (byte() % 2) rpc.shards = byte() % 2 ? [shard, pick()] : pick()
  if (byte() % 2) rpc.control = byte() % 2 ? control : pick()
  return byte() % 16 === 0 ? pick() : rpc
}

describe('optimum core: arbitrary peer input', () => {
  it('never throws, holds no state for garbage, and keeps working for honest peers', () => {
    const net = network(kernel)
    const [v, a, b] = build(net, 3, [[0, 1], [0, 2]], 't')
    const random = seededRandomBytes(99)
    for (let i = 0; i < 3000; i++) {
      if (!net.connected(v.key, a.key)) net.connect(v.key, a.key)
      expect(() => v.core.handleRpc(a.key, garbage(random) as Rpc)).not.toThrow()
      if (i % 100 === 0) net.runFor(10)
    }
    expect(v.core.stats().messages).toBe(0)
    b.core.publish('t', payload(5000, 1), 'after')
    net.runFor(1000)
    expect(v.delivered.map((d) => d.id)).toEqual(['after'])
  })
})
