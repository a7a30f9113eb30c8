import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeliveryHub } from '../delivery/hub.js'
import { createRedisStore, type RedisProxyStore } from '../store/redis-store.js'
import { SubscriptionWatch } from '../store/watch.js'
import { arrive, RecordingSink } from './support/delivery.js'
import { RedisServer, redisServerPath, waitFor } from './support/redis-server.js'

if (!redisServerPath) console.log('redis-server not installed: Redis restart test skipped')

describe.skipIf(!redisServerPath)('Redis restart', () => {
  let redis: RedisServer
  let store: RedisProxyStore
  let publisher: RedisProxyStore
  beforeAll(async () => {
    redis = await RedisServer.start()
    const options = { url: redis.url, mode: 'standalone', prefix: 'restart:', messageTtlSeconds: 600, streamMaxLength: 10_000, streamMaxAgeSeconds: 600 } as const
    store = createRedisStore(options)
    publisher = createRedisStore(options)
  })
  afterAll(async () => {
    await store?.close()
    await publisher?.close()
    await redis?.stop()
  })

  it('keeps delivering to an attached client after Redis is killed and restarted, without a restart of the hub', async () => {
    const watch = new SubscriptionWatch({ store, intervalMs: 50 })
    await watch.start()
    const hub = new DeliveryHub({ store, nodeCount: 2, watch, cursorFlushMs: 20, blockMs: 200 })
    try {
      await publisher.subscribe('steady', 'news', 0.5)
      const sink = new RecordingSink()
      sink.attachment = await hub.attach('steady', sink)
      await arrive(publisher, 'news', 'before', 1)
      await sink.waitForCount(1)

      await redis.kill()
      await expect(publisher.ping()).rejects.toMatchObject({ code: 'unavailable' })
      await redis.restart()
      // The publisher's connection comes back by itself too; retry until it has.
      await waitFor('the publisher to reconnect', async () => ((await publisher.ping()) >= 0 ? true : undefined), 15_000)

      for (const id of ['after-1', 'after-2']) await arrive(publisher, 'news', id, 1)
      await sink.waitForCount(3, 20_000)
      expect(sink.ids()).toEqual(['before', 'after-1', 'after-2'])

      // A subscription made after the restart still reaches the attached client (the watch recovered).
      await publisher.subscribe('steady', 'later', 0.5)
      await arrive(publisher, 'later', 'on-new-topic', 1)
      await sink.waitForCount(4, 20_000)
      expect(sink.delivered[3]).toMatchObject({ topic: 'later', messageId: 'on-new-topic' })
    } finally {
      watch.stop()
      await hub.close()
    }
  })
})
