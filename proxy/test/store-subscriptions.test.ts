import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { OptimumError } from '../../common/errors.js'
import { StoreKeys } from '../store/keys.js'
import type { RedisProxyStore } from '../store/redis-store.js'
import { CURSOR_ORIGIN } from '../store/store.js'
import { SubscriptionWatch } from '../store/watch.js'
import { LOCAL_REDIS, openStore, removePrefix, testPrefix } from './support/store.js'
import { waitFor } from './support/redis-server.js'

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

function store(prefix = testPrefix('subs')): RedisProxyStore {
  const s = openStore({ prefix })
  cleanup.push(async () => {
    await s.close()
    await removePrefix(LOCAL_REDIS, prefix)
  })
  return s
}

describe('subscriptions', () => {
  it('keeps client → {topic: threshold}, the active topics and the subscriber counts', async () => {
    const s = store()
    expect(await s.subscribe('alice', 'news', 0.5)).toBe(true)
    expect(await s.subscribe('alice', 'news', 0.7)).toBe(false)
    expect(await s.subscribe('bob', 'news', 1)).toBe(true)
    expect(await s.subscribe('bob', 'weather', 0)).toBe(true)
    expect(await s.clientTopics('alice')).toEqual(new Map([['news', 0.7]]))
    expect(await s.clientTopics('nobody')).toEqual(new Map())
    expect(await s.activeTopics()).toEqual(['news', 'weather'])
    expect(await s.stats()).toMatchObject({
      clients: 2,
      topics: [{ topic: 'news', subscribers: 2, streamLength: 0 }, { topic: 'weather', subscribers: 1, streamLength: 0 }],
    })

    expect(await s.unsubscribe('bob', 'weather')).toBe(true)
    expect(await s.unsubscribe('bob', 'weather')).toBe(false)
    expect(await s.activeTopics()).toEqual(['news'])
    expect(await s.unsubscribe('alice', 'news')).toBe(true)
    expect(await s.activeTopics()).toEqual(['news'])
    expect(await s.unsubscribe('bob', 'news')).toBe(true)
    expect(await s.activeTopics()).toEqual([])
    expect((await s.stats()).clients).toBe(0)
  })

  it('refuses thresholds outside [0,1] and missing names with invalid_argument', async () => {
    const s = store()
    for (const bad of [-0.1, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(s.subscribe('alice', 'news', bad)).rejects.toMatchObject({ code: 'invalid_argument' })
    }
    await expect(s.subscribe('', 'news', 0.5)).rejects.toBeInstanceOf(OptimumError)
    await expect(s.subscribe('alice', '', 0.5)).rejects.toMatchObject({ message: 'topic is missing' })
    await expect(s.readEvents('news', 'not-a-cursor', 10)).rejects.toMatchObject({ code: 'invalid_argument' })
  })

  it('starts a new subscriber at the end of the stream and stores cursors only forward, only while subscribed', async () => {
    const s = store()
    await s.recordArrival({ node: 'n0', messageId: 'before', topic: 'news', data: new Uint8Array(1), source: 'src' })
    const end = await s.lastCursor('news')
    await s.subscribe('alice', 'news', 0.5)
    expect(await s.cursors('alice', ['news', 'other'])).toEqual(new Map([['news', end]]))
    const [major, minor] = end.split('-').map(Number) as [number, number]
    const later = `${major}-${minor + 5}`
    await s.saveCursors('news', new Map([['alice', later]]))
    await s.saveCursors('news', new Map([['alice', end]]))
    expect((await s.cursors('alice', ['news'])).get('news')).toBe(later)
    // Numeric, not lexical: …10-0 is after …9-0.
    await s.subscribe('bob', 'news', 0.5)
    const base = Math.floor(major / 100) * 100 + 100
    await s.saveCursors('news', new Map([['bob', `${base + 9}-0`]]))
    await s.saveCursors('news', new Map([['bob', `${base + 10}-0`]]))
    expect((await s.cursors('bob', ['news'])).get('news')).toBe(`${base + 10}-0`)
    await s.unsubscribe('alice', 'news')
    expect(await s.cursors('alice', ['news'])).toEqual(new Map())
    // A batch written after the unsubscribe does not bring the cursor back (it would replay the unsubscribed time).
    await s.saveCursors('news', new Map([['alice', `${base + 11}-0`]]))
    expect(await s.cursors('alice', ['news'])).toEqual(new Map())
  })

  it('logs every change for other replicas, and says when the log lost entries', async () => {
    const s = store()
    const start = await s.subscriptionChangesEnd()
    expect(start).toBe(CURSOR_ORIGIN)
    await s.subscribe('alice', 'news', 0.5)
    await s.subscribe('alice', 'news', 0.5) // unchanged: not logged
    await s.subscribe('alice', 'news', 0.6)
    await s.unsubscribe('alice', 'news')
    const read = await s.subscriptionChanges(start)
    expect(read.complete).toBe(true)
    expect(read.changes).toEqual([
      { clientId: 'alice', topic: 'news', op: 'subscribe' },
      { clientId: 'alice', topic: 'news', op: 'subscribe' },
      { clientId: 'alice', topic: 'news', op: 'unsubscribe' },
    ])
    expect(await s.subscriptionChangesEnd()).toBe(read.next)
    expect((await s.subscriptionChanges(read.next)).changes).toEqual([])
    // A position beyond the log's end: Redis lost the log (restarted empty).
    expect((await s.subscriptionChanges('99999999999999-0')).complete).toBe(false)
  })
})

describe('SubscriptionWatch', () => {
  it('follows changes made through another store (another replica)', async () => {
    const prefix = testPrefix('watch')
    const here = store(prefix)
    const there = store(prefix)
    await there.subscribe('early', 'old-topic', 0.1)
    const watch = new SubscriptionWatch({ store: here, intervalMs: 50 })
    cleanup.push(async () => watch.stop())
    const seen: string[][] = []
    const clients: string[] = []
    watch.on('topics', (t) => seen.push(t))
    watch.on('clients', (changes) => clients.push(...changes.map((c) => `${c.op}:${c.clientId}:${c.topic}`)))
    await watch.start()
    expect(seen).toEqual([['old-topic']])
    await there.subscribe('alice', 'news', 0.5)
    await waitFor('news to become active', async () => (watch.topics().includes('news') ? true : undefined))
    expect(seen.at(-1)).toEqual(['news', 'old-topic'])
    await there.unsubscribe('early', 'old-topic')
    await waitFor('old-topic to go', async () => (watch.topics().includes('old-topic') ? undefined : true))
    expect(clients).toEqual(['subscribe:alice:news', 'unsubscribe:early:old-topic'])
  })

  it('asks for a resync when the change log lost what it had not read (Redis restarted empty)', async () => {
    const prefix = testPrefix('watch-resync')
    const s = store(prefix)
    await s.subscribe('alice', 'news', 0.5)
    const watch = new SubscriptionWatch({ store: s, intervalMs: 50 })
    cleanup.push(async () => watch.stop())
    let resyncs = 0
    watch.on('resync', () => resyncs++)
    await watch.start()
    const raw = new Redis(LOCAL_REDIS)
    await raw.del(new StoreKeys(prefix).subscriptionChanges(), new StoreKeys(prefix).activeTopics())
    raw.disconnect()
    await waitFor('a resync', async () => (resyncs > 0 ? true : undefined))
    expect(watch.topics()).toEqual([])
    // And it follows the new log from its start.
    await s.subscribe('bob', 'fresh', 0.5)
    await waitFor('fresh to become active', async () => (watch.topics().includes('fresh') ? true : undefined))
  })
})
