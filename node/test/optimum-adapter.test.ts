import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { afterEach, describe, expect, it } from 'vitest'
import type { DeliveredMessage } from '../pubsub/engine.js'
import { encodeRpc, maxFrameBytes } from '../optimum/wire.js'
import { createFloodCore } from './support/flood-core.js'
import { disconnected, flood, hostilePeer, lengthPrefixed, type HostilePeer } from './support/hostile-peer.js'
import { startTestHost, type TestHost } from './support/optimum-host.js'
import { waitFor } from './support/wait.js'

const MiB = 1024 * 1024

/**
 * The carrier on real libp2p over loopback, with a stand-in core (flooding,
 * k = 1) so that what is tested is the adapter, the wire codec, the
 * handshake gate and the engine, whatever the protocol core does.
 */
describe('optimum adapter on loopback', () => {
  const hosts: TestHost[] = []
  const start = async (options: Parameters<typeof startTestHost>[0] = {}): Promise<TestHost> => {
    const host = await startTestHost({ createCore: createFloodCore, ...options })
    hosts.push(host)
    return host
  }
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.stop()))
  })

  const connect = async (from: TestHost, to: TestHost): Promise<void> => {
    await from.node.dial(multiaddr(to.addr))
  }
  const collect = (host: TestHost): DeliveredMessage[] => {
    const got: DeliveredMessage[] = []
    host.optimum!.engine.onMessage((m) => got.push({ ...m, data: m.data.slice() }))
    return got
  }
  it('carries messages over a line of three nodes, large ones and bursts included, each delivered once', async () => {
    const [a, b, c] = [await start(), await start(), await start()]
    await connect(b, a)
    await connect(c, b)
    for (const host of [a, b, c]) host.optimum!.engine.subscribe('line')
    const got = collect(c)
    await waitFor('subscriptions to spread', () => a.optimum!.engine.meshPeers('line').length === 1 && b.optimum!.engine.meshPeers('line').length === 2)

    const big = new Uint8Array(MiB).map((_, i) => (i * 7) & 0xff)
    await a.optimum!.engine.publish('line', big, 'big')
    const count = 2_000
    for (let i = 0; i < count; i++) await a.optimum!.engine.publish('line', new Uint8Array(1024).fill(i & 0xff), `m-${i}`)
    expect((await a.optimum!.engine.publish('line', big, 'big')).fresh).toBe(false)

    await waitFor(`${count + 1} deliveries`, () => got.length >= count + 1, 30_000)
    expect(Buffer.from(got[0]!.data).equals(Buffer.from(big))).toBe(true)
    expect(new Set(got.map((m) => m.id)).size).toBe(got.length)
    expect(got[0]!.source).toBe(a.node.peerId.toString())
  }, 60_000)

  it('reports the backlog to the core while frames wait, and drains it', async () => {
    const [a, b] = [await start(), await start()]
    await connect(a, b)
    b.optimum!.engine.subscribe('t')
    const got = collect(b)
    await waitFor('subscription', () => a.optimum!.engine.meshPeers('t').length === 1)
    const peer = b.node.peerId.toString()
    for (let i = 0; i < 8; i++) await a.optimum!.engine.publish('t', new Uint8Array(MiB), `x-${i}`)
    expect(a.optimum!.adapter.backlog(peer)).toBeGreaterThan(MiB)
    await waitFor('8 deliveries', () => got.length === 8, 20_000)
    await waitFor('the backlog to drain', () => a.optimum!.adapter.backlog(peer) === 0)
    expect(await b.registry.getSingleMetricAsString('optimum_node_shards_received_total')).toMatch(/ 8$/)
  })

  it('never lets a peer of another cluster reach the core', async () => {
    const a = await start({ clusterId: 'blue' })
    const b = await start({ clusterId: 'green' })
    const gone = disconnected(b.node, a.node.peerId)
    await connect(b, a).catch(() => {})
    await gone
    expect(a.handshake.isVerified(b.node.peerId.toString())).toBe(false)
    expect(a.node.getPeers()).toHaveLength(0)
    // and it is refused for a while, in both directions of dialling
    await expect(connect(b, a)).rejects.toThrow()
  })

  describe('a hostile peer that passed the handshake', () => {
    const attack = async (victim: TestHost): Promise<HostilePeer> => {
      const attacker = await hostilePeer({ addr: victim.addr, peerId: victim.node.peerId.toString() })
      hosts.push(attacker.host)
      return attacker
    }

    it('is cut off for garbage frames, and the victim keeps serving others', async () => {
      const victim = await start()
      const friend = await start()
      await connect(friend, victim)
      const { stream, gone } = await attack(victim)
      for (let i = 0; i < 3; i++) stream.send(lengthPrefixed(new Uint8Array([0xff, 0xff, 0xff, 0x01, i])))
      await gone
      expect(await victim.registry.getSingleMetricAsString('optimum_node_wire_violations_total')).toMatch(/reason="malformed"} 3/)

      const got = collect(friend)
      friend.optimum!.engine.subscribe('after')
      await waitFor('subscription', () => victim.optimum!.engine.meshPeers('after').length === 1)
      await victim.optimum!.engine.publish('after', new Uint8Array([1, 2, 3]))
      await waitFor('delivery after the attack', () => got.length === 1)
    })

    it('is cut off for a frame over the size limit, before the victim buffers it', async () => {
      const victim = await start()
      const { stream, gone } = await attack(victim)
      stream.send(varint.encode(maxFrameBytes(MiB) + 1))
      stream.send(new Uint8Array(64 * 1024))
      await gone
    })

    it('is cut off for flooding, with memory bounded', async () => {
      const victim = await start()
      const { stream, gone } = await attack(victim)
      const before = process.memoryUsage().heapUsed
      let cut = false
      void gone.then(() => (cut = true))
      await flood(stream, lengthPrefixed(encodeRpc({ control: { idontwant: ['x'] } })), 2_000_000, () => cut)
      await gone
      expect(await victim.registry.getSingleMetricAsString('optimum_node_wire_violations_total')).toMatch(/reason="flooding"} 1/)
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(256 * MiB)
    }, 60_000)
  })
})
