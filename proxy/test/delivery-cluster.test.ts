import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore } from '../store/redis-store.js'
import { replayAcrossReplicas } from './support/replay-scenario.js'
import { clusterSkipReason, RedisCluster } from './support/redis-cluster.js'
import { arrive } from './support/delivery.js'

if (clusterSkipReason) console.log(clusterSkipReason)

describe.skipIf(clusterSkipReason !== undefined)('on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster
  beforeAll(async () => {
    cluster = await RedisCluster.start(3)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  const open = (prefix: string) => createRedisStore({
    url: cluster.url, mode: 'cluster', prefix, messageTtlSeconds: 600, streamMaxLength: 10_000, streamMaxAgeSeconds: 600,
  })

  it('replays 100 messages in order on another replica, then live, with no duplicate', async () => {
    await replayAcrossReplicas(() => open('replay:'))
  })

  it('runs every store operation with its keys spread over the masters', async () => {
    const store = open('spread:')
    try {
      const topics = Array.from({ length: 12 }, (_, i) => `topic-${i}`)
      for (const topic of topics) await store.subscribe(`client-${topic}`, topic, 0.5)
      for (const topic of topics) await arrive(store, topic, `m-${topic}`, 2)
      const stats = await store.stats()
      expect(stats.clients).toBe(12)
      expect(stats.topics.map((t) => [t.topic, t.subscribers, t.streamLength])).toEqual(topics.sort().map((t) => [t, 1, 2]))
      expect(await store.claimPublish('topic-1', 'fp', 60)).toBe(true)
      expect((await store.subscriptionChanges('0-0')).changes).toHaveLength(12)
      expect(await store.ping()).toBeGreaterThanOrEqual(0)
    } finally {
      await store.close()
    }
  })
})
