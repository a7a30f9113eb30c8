import { generateKeyPair } from '@libp2p/crypto/keys'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Stream } from '@libp2p/interface'
import { afterAll, describe, expect, it } from 'vitest'
import { parseNodeConfig } from '../../common/config/index.js'
import { ByteCounter } from '../host/byte-counter.js'
import { createHost } from '../host/libp2p.js'
import { gossipsubService } from '../pubsub/gossipsub-engine.js'
import { repairOutboundStreams } from '../pubsub/gossipsub-stream-repair.js'
import { waitFor } from './support/wait.js'

type Host = Awaited<ReturnType<typeof createHost>>
/** The class's members that its exported interface leaves out. */
type GossipsubClass = GossipSub & { streamsOutbound: Map<string, { rawStream: Stream }>; getMeshPeers(topic: string): string[] }

describe('gossipsub outbound stream repair', () => {
  const stops: Array<() => Promise<void> | void> = []
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop()
  })

  const start = async (): Promise<{ host: Host; pubsub: GossipsubClass }> => {
    const config = parseNodeConfig({ NODE_MODE: 'gossipsub', LISTEN_HOST: '127.0.0.1', GOSSIPSUB_PORT: '0', LOG_LEVEL: 'silent' })
    const host = await createHost({
      privateKey: await generateKeyPair('Ed25519'),
      listenHost: '127.0.0.1',
      port: 0,
      services: { pubsub: gossipsubService(config.gossipsub) },
      bytes: new ByteCounter(),
      denyPeer: () => false,
    })
    await host.start()
    stops.push(() => host.stop())
    const pubsub = host.services.pubsub as GossipsubClass
    stops.push(repairOutboundStreams(pubsub, (peer) => host.getConnections(peer)))
    return { host, pubsub }
  }

  it('replaces a registered outbound stream that is already closed, so the mesh forms and messages flow', async () => {
    const a = await start()
    const b = await start()
    await a.host.dial(b.host.getMultiaddrs()[0]!)
    const bId = b.host.peerId.toString()
    await waitFor('outbound streams both ways', () => a.pubsub.streamsOutbound.has(bId) && b.pubsub.streamsOutbound.has(a.host.peerId.toString()), 10_000)

    // The state the race leaves: the entry is registered, its stream closed, and no close listener is left to remove it.
    const stale = a.pubsub.streamsOutbound.get(bId)!
    await stale.rawStream.close()
    a.pubsub.streamsOutbound.set(bId, stale)
    expect(stale.rawStream.writeStatus).toBe('closed')

    const received: string[] = []
    b.pubsub.addEventListener('message', (event) => received.push(Buffer.from(event.detail.data).toString()))
    a.pubsub.subscribe('repair')
    b.pubsub.subscribe('repair')
    await waitFor(
      'a fresh outbound stream and a mesh on both sides',
      () =>
        a.pubsub.streamsOutbound.get(bId) !== stale &&
        a.pubsub.getMeshPeers('repair').includes(bId) &&
        b.pubsub.getMeshPeers('repair').includes(a.host.peerId.toString()),
      10_000,
    )
    expect(a.pubsub.streamsOutbound.get(bId)!.rawStream.status).toBe('open')
    await a.pubsub.publish('repair', Buffer.from('after repair'))
    await waitFor('delivery over the new stream', () => received.includes('after repair'), 10_000)
  })
})
