import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../node.js'
import { encodeRpc } from '../optimum/wire.js'
import { flood, hostilePeer, lengthPrefixed, type HostilePeer } from './support/hostile-peer.js'
import { meshReady, SidecarClient, startNetwork, stopAll, waitFor } from './support/network.js'

const MiB = 1024 * 1024

/** Optimum mode end to end: real nodes on loopback with the real protocol core, driven through their sidecars. */
describe('optimum nodes on 127.0.0.1', () => {
  let nodes: RunningNode[]
  const clients: SidecarClient[] = []
  const attackers: HostilePeer[] = []
  const client = (node: RunningNode): SidecarClient => {
    const c = new SidecarClient(node.ports.sidecar)
    clients.push(c)
    return c
  }
  const attack = async (victim: RunningNode): Promise<HostilePeer> => {
    const attacker = await hostilePeer({ addr: victim.multiaddrs()[0]!, peerId: victim.peerId })
    attackers.push(attacker)
    return attacker
  }

  beforeAll(async () => {
    nodes = await startNetwork(3, 'optimum')
    await waitFor('a full topology', () => nodes.every((node) => node.view.peers().length >= 2))
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await Promise.all(attackers.map((a) => a.host.stop()))
    await stopAll(nodes)
  })

  it('decodes 1,000 concurrent 64 KiB messages, every one intact and once', async () => {
    const count = 1000
    const subscriber = client(nodes[0]!)
    subscriber.subscribe('concurrent')
    const publisher = client(nodes[2]!)
    publisher.subscribe('concurrent')
    await waitFor('topic mesh', meshReady([nodes[0]!, nodes[2]!], 'concurrent', 1))
    const bodies = Array.from({ length: count }, (_, i) => createHash('sha512').update(`seed ${i}`).digest().toString('hex').repeat(512).slice(0, 64 * 1024))
    const acks = await Promise.all(bodies.map((body, i) => publisher.publishUnary('concurrent', Buffer.from(body), `c-${i}`)))
    expect(acks.every((ack) => ack.fresh)).toBe(true)
    await waitFor(`${count} deliveries`, () => subscriber.received.length >= count, 60_000)
    expect(subscriber.received).toHaveLength(count)
    for (const message of subscriber.received) {
      expect(message.data.toString()).toBe(bodies[Number(message.id.slice(2))])
    }
  }, 90_000)

  it('cuts off a peer that sends garbage, and keeps delivering', async () => {
    const victim = nodes[1]!
    const { stream, gone } = await attack(victim)
    for (let i = 0; i < 3; i++) stream.send(lengthPrefixed(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, i])))
    await gone
    const subscriber = client(victim)
    subscriber.subscribe('after-garbage')
    const publisher = client(nodes[0]!)
    publisher.subscribe('after-garbage')
    await waitFor('topic mesh', meshReady([victim, nodes[0]!], 'after-garbage', 1))
    publisher.publish('after-garbage', Buffer.from('still here'))
    await waitFor('a delivery after the attack', () => subscriber.received.length === 1)
    const metrics = await (await fetch(`http://127.0.0.1:${victim.ports.api}/metrics`)).text()
    expect(metrics).toMatch(/optimum_node_wire_violations_total\{reason="malformed"[^}]*\} 3/)
  })

  it('cuts off a flooding peer with memory bounded', async () => {
    const { stream, gone } = await attack(nodes[1]!)
    let cut = false
    void gone.then(() => (cut = true))
    const before = process.memoryUsage().rss
    // IHAVEs for messages nobody has: each frame is valid, and together they are a flood
    const ihave = encodeRpc({ control: { ihave: [{ topic: 'x', messages: Array.from({ length: 50 }, (_, i) => ({ messageId: `ghost-${i}`, rank: 1 })) }] } })
    await flood(stream, lengthPrefixed(ihave), 2_000_000, () => cut)
    await gone
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * MiB)
  }, 60_000)
})
