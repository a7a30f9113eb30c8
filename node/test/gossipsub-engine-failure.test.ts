import { generateKeyPair } from '@libp2p/crypto/keys'
import type { GossipSub } from '@libp2p/gossipsub'
import { afterAll, describe, expect, it } from 'vitest'
import { parseNodeConfig } from '../../common/config/index.js'
import { silentLogger } from '../../common/logger.js'
import { ByteCounter } from '../host/byte-counter.js'
import { createHost } from '../host/libp2p.js'
import { GossipsubEngine, gossipsubService } from '../pubsub/gossipsub-engine.js'

describe('gossipsub engine: a publish that failed', () => {
  const stops: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const stop of stops) await stop()
  })

  it('leaves its id unused, so the retry is a fresh publish, not a silent no-op', async () => {
    const config = parseNodeConfig({ NODE_MODE: 'gossipsub', LISTEN_HOST: '127.0.0.1', GOSSIPSUB_PORT: '0', LOG_LEVEL: 'silent' })
    // Not started yet: gossipsub itself refuses to publish (PublishError.Uninitialized), a real failure of the library.
    const host = await createHost({
      privateKey: await generateKeyPair('Ed25519'),
      listenHost: '127.0.0.1',
      port: 0,
      services: { pubsub: gossipsubService(config.gossipsub) },
      bytes: new ByteCounter(),
      denyPeer: () => false,
    })
    stops.push(async () => {
      await host.stop()
    })
    const engine = new GossipsubEngine({
      pubsub: host.services.pubsub as GossipSub,
      maxMessageSize: config.gossipsub.maxMessageSize,
      log: silentLogger,
      selfId: host.peerId,
    })
    await expect(engine.publish('retry', Buffer.from('body'), 'id-1')).rejects.toMatchObject({ code: 'unavailable' })
    await host.start()
    expect(await engine.publish('retry', Buffer.from('body'), 'id-1')).toMatchObject({ id: 'id-1', fresh: true })
    // and a different body under it is a conflict only now that it was really published
    await expect(engine.publish('retry', Buffer.from('other'), 'id-1')).rejects.toMatchObject({ code: 'already_exists' })
  })
})
