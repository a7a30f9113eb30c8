/**
 * The replay scenario, run on standalone Redis and on a Redis Cluster: a
 * client leaves replica A, 100 messages become deliverable on two topics, the
 * client comes back on replica B and gets all of them in order, then live
 * ones, with no duplicate.
 */
import { expect } from 'vitest'
import { DeliveryHub } from '../../delivery/hub.js'
import type { RedisProxyStore } from '../../store/redis-store.js'
import { compareCursors } from '../../store/redis-store.js'
import { arrive, RecordingSink } from './delivery.js'

export async function replayAcrossReplicas(open: () => RedisProxyStore): Promise<void> {
  const [storeA, storeB, publisher] = [open(), open(), open()]
  const hubA = new DeliveryHub({ store: storeA, nodeCount: 4, cursorFlushMs: 20 })
  const hubB = new DeliveryHub({ store: storeB, nodeCount: 4, cursorFlushMs: 20 })
  const topics = ['alpha', 'beta']
  try {
    // threshold 0.5 of 4 nodes: delivered at the second node's report.
    for (const topic of topics) await publisher.subscribe('client-1', topic, 0.5)
    const first = new RecordingSink()
    first.attachment = await hubA.attach('client-1', first)
    await arrive(publisher, 'alpha', 'warm-up', 4)
    await first.waitForCount(1)
    await first.attachment.detach()

    const away = Array.from({ length: 100 }, (_, i) => ({ topic: topics[i % 2]!, id: `away-${i}` }))
    for (const { topic, id } of away) await arrive(publisher, topic, id, 4)

    const second = new RecordingSink()
    second.attachment = await hubB.attach('client-1', second)
    await second.waitForCount(100)
    const live = Array.from({ length: 6 }, (_, i) => ({ topic: topics[i % 2]!, id: `live-${i}` }))
    for (const { topic, id } of live) await arrive(publisher, topic, id, 4)
    await second.waitForCount(106)

    for (const topic of topics) {
      const got = second.delivered.filter((d) => d.topic === topic)
      expect(got.map((d) => d.messageId)).toEqual([...away, ...live].filter((m) => m.topic === topic).map((m) => m.id))
      got.slice(1).forEach((d, i) => expect(compareCursors(d.cursor, got[i]!.cursor)).toBeGreaterThan(0))
      expect(got.every((d) => d.nodes === 2 && d.source === 'peer-source')).toBe(true)
    }
    expect(second.delivered).toHaveLength(106)
    expect(second.gaps).toEqual([])
    expect(first.ids()).toEqual(['warm-up'])
  } finally {
    await hubA.close()
    await hubB.close()
    await Promise.all([storeA.close(), storeB.close(), publisher.close()])
  }
}
