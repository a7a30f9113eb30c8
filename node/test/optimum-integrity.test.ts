import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import type { Rpc } from '../optimum/types.js'
import { network, payload } from './support/optimum-fixtures.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

/** Every shard it sends has the same length and coefficients as an honest one, but flipped payload bytes. */
function corrupt(_to: string, rpc: Rpc): Rpc {
  if (rpc.shards === undefined) return rpc
  return {
    ...rpc,
    shards: rpc.shards.map((shard) => {
      const bytes = shard.payload.slice()
      for (let i = 8; i < bytes.length; i += 97) bytes[i] ^= 0x5a
      return { ...shard, payload: bytes }
    }),
  }
}

describe('optimum core: integrity', () => {
  it('a peer sending corrupted shards causes no wrong delivery and is penalised', () => {
    const net = network(kernel, { core: { limits: { relayFanout: 8 } } })
    // n0 publishes; x relays with corruption; v hears from x and from the honest a, b.
    const keys = ['n0', 'a', 'b', 'x', 'v']
    const nodes = Object.fromEntries(keys.map((key) => [key, net.addNode(key, key === 'x' ? { tamper: corrupt } : {})]))
    for (const node of Object.values(nodes)) node.core.subscribe('t')
    for (const [p, q] of [['n0', 'a'], ['n0', 'x'], ['a', 'v'], ['x', 'v'], ['a', 'b'], ['b', 'v']]) net.connect(p, q)
    net.runFor(3000)
    const sent = new Map<string, Uint8Array>()
    for (let i = 0; i < 10; i++) {
      const data = payload(30_000, 100 + i)
      sent.set(`m${i}`, data)
      nodes.n0.core.publish('t', data, `m${i}`)
      net.runFor(300)
    }
    net.runFor(5000)
    for (const [key, node] of Object.entries(nodes)) {
      for (const message of node.delivered) expect(message.data, `${key} delivered ${message.id} intact`).toEqual(sent.get(message.id))
      expect(new Set(node.delivered.map((d) => d.id)).size).toBe(node.delivered.length)
    }
    const v = nodes.v.core
    expect(v.stats().decodeFailures).toBeGreaterThan(0)
    // x is in every failed decode at v; it ends up cut off or scored well below the honest peers.
    expect(!net.connected('v', 'x') || v.score('x') < Math.min(v.score('a'), v.score('b'))).toBe(true)
    expect(v.score('x')).toBeLessThan(0)
    // And v still gets the messages, from the honest peers.
    expect(nodes.v.delivered.length).toBe(10)
  })

  it('a shard whose header signature does not verify opens no state and costs the sender', () => {
    const net = network(kernel)
    const v = net.addNode('v')
    const x = net.addNode('x')
    v.core.subscribe('t')
    x.core.subscribe('t')
    net.connect('v', 'x')
    net.runFor(1000)
    let forged: Rpc | undefined
    const honest = net.addNode('h', {
      tamper: (_to, rpc) => {
        forged ??= rpc.shards ? rpc : undefined
        return rpc
      },
    })
    honest.core.subscribe('t')
    net.connect('h', 'x')
    net.runFor(1000)
    honest.core.publish('t', payload(5000, 1), 'signed')
    net.runFor(500)
    expect(forged?.shards?.[0].header).toBeDefined()
    const shard = forged!.shards![0]
    const header = { ...shard.header!, messageId: 'other', signature: shard.header!.signature.slice() }
    net.inject('x', 'v', { shards: [{ ...shard, messageId: 'other', header }] })
    net.runFor(100)
    expect(v.core.score('x')).toBeLessThan(0)
    expect(v.core.stats().messages).toBe(1)
    expect(v.delivered.map((d) => d.id)).toEqual(['signed'])
  })
})
