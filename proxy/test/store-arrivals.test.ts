import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { StoreKeys } from '../store/keys.js'
import type { RedisProxyStore } from '../store/redis-store.js'
import { CURSOR_ORIGIN, type TopicEvent } from '../store/store.js'
import { LOCAL_REDIS, openStore, removePrefix, testPrefix } from './support/store.js'

const opened: { stores: RedisProxyStore[]; prefix: string }[] = []

function stores(count: number, options: Parameters<typeof openStore>[0]) {
  const list = Array.from({ length: count }, () => openStore(options))
  opened.push({ stores: list, prefix: options.prefix })
  return list
}

afterEach(async () => {
  for (const { stores: list, prefix } of opened.splice(0)) {
    await Promise.all(list.map((s) => s.close()))
    await removePrefix(LOCAL_REDIS, prefix)
  }
})

const arrival = (node: string, messageId: string, topic = 'news') =>
  ({ node, messageId, topic, data: new TextEncoder().encode(`body of ${messageId}`), source: 'peer-src' })

async function allEvents(store: RedisProxyStore, topic: string): Promise<TopicEvent[]> {
  const events: TopicEvent[] = []
  for (let after = CURSOR_ORIGIN; ;) {
    const batch = await store.readEvents(topic, after, 500)
    if (batch.length === 0) return events
    events.push(...batch)
    after = batch.at(-1)!.cursor
  }
}

describe('recordArrival', () => {
  it('counts each node once and appends one event per new node', async () => {
    const [store] = stores(1, { prefix: testPrefix('arrival') })
    expect(await store!.recordArrival(arrival('node-0', 'm1'))).toMatchObject({ nodes: 1, appended: true })
    expect(await store!.recordArrival(arrival('node-0', 'm1'))).toEqual({ nodes: 1, appended: false })
    const second = await store!.recordArrival(arrival('node-1', 'm1'))
    expect(second).toMatchObject({ nodes: 2, appended: true })
    const events = await allEvents(store!, 'news')
    expect(events.map((e) => [e.messageId, e.nodes])).toEqual([['m1', 1], ['m1', 2]])
    expect(events[0]!.previous).toBe(CURSOR_ORIGIN)
    expect(events[1]!.previous).toBe(events[0]!.cursor)
    expect(second.cursor).toBe(events[1]!.cursor)
    const [message, expired] = await store!.messages('news', ['m1', 'never'])
    expect(new TextDecoder().decode(message!.data)).toBe('body of m1')
    expect(message!.source).toBe('peer-src')
    expect(expired).toBeUndefined()
    expect(await store!.nodesHolding('news', 'm1')).toBe(2)
    expect(await store!.nodesHolding('news', 'never')).toBe(0)
  })

  it('gives every count level exactly once when three replicas report four nodes concurrently', async () => {
    const replicas = stores(3, { prefix: testPrefix('arrival-race') })
    const messages = Array.from({ length: 40 }, (_, i) => `msg-${i}`)
    const reports = messages.flatMap((id) => ['n0', 'n1', 'n2', 'n3'].flatMap((node) => replicas.map((r) => () => r.recordArrival(arrival(node, id)))))
    // Interleave reports of all replicas so their scripts race for the same messages.
    reports.sort(() => Math.random() - 0.5)
    const results = await Promise.all(reports.map((report) => report()))
    expect(results.filter((r) => r.appended)).toHaveLength(messages.length * 4)

    const events = await allEvents(replicas[0]!, 'news')
    const levels = new Map<string, number[]>()
    for (const e of events) levels.set(e.messageId, [...(levels.get(e.messageId) ?? []), e.nodes])
    for (const id of messages) expect(levels.get(id), id).toEqual([1, 2, 3, 4])
    // The chain of previous ids is unbroken: nothing was lost in between.
    events.forEach((e, i) => expect(e.previous).toBe(i === 0 ? CURSOR_ORIGIN : events[i - 1]!.cursor))
  })

  it('keeps the first body with its receipts under the message TTL, and trims the stream to about its length', async () => {
    const prefix = testPrefix('arrival-trim')
    const [store] = stores(1, { prefix, streamMaxLength: 10, messageTtlSeconds: 5 })
    await store!.recordArrival(arrival('a', 'first'))
    await store!.recordArrival({ ...arrival('b', 'first'), data: new TextEncoder().encode('another body') })
    expect(new TextDecoder().decode((await store!.messages('news', ['first']))[0]!.data)).toBe('body of first')
    const raw = new Redis(LOCAL_REDIS)
    const ttl = await raw.pttl(new StoreKeys(prefix).message('news', 'first'))
    raw.disconnect()
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(5000)
    for (let i = 0; i < 500; i++) await store!.recordArrival(arrival('a', `bulk-${i}`))
    const length = (await allEvents(store!, 'news')).length
    // MAXLEN ~ trims whole macro nodes (up to 100 entries each).
    expect(length).toBeLessThan(250)
    expect(await store!.lastCursor('news')).toBe((await allEvents(store!, 'news')).at(-1)!.cursor)
  })
})

describe('claimPublish', () => {
  it('is true once per fingerprint', async () => {
    const [a, b] = stores(2, { prefix: testPrefix('claim') })
    expect(await a!.claimPublish('news', 'fp-1', 60)).toBe(true)
    expect(await b!.claimPublish('news', 'fp-1', 60)).toBe(false)
    expect(await b!.claimPublish('news', 'fp-2', 60)).toBe(true)
  })
})
