import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { DeliveryHub } from '../delivery/hub.js'
import { StoreKeys } from '../store/keys.js'
import { arrive, RecordingSink } from './support/delivery.js'
import { waitFor } from './support/redis-server.js'
import { LOCAL_REDIS, openStore, removePrefix, testPrefix } from './support/store.js'

let cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

function setUp(name: string, streamMaxLength = 10_000) {
  const prefix = testPrefix(name)
  const store = openStore({ prefix, streamMaxLength })
  const hub = new DeliveryHub({ store, nodeCount: 1, cursorFlushMs: 20 })
  cleanup.push(() => removePrefix(LOCAL_REDIS, prefix), () => store.close(), () => hub.close())
  return { prefix, store, hub }
}

describe('gaps', () => {
  it('tells a client whose cursor was trimmed away, then delivers what is left and goes on live', async () => {
    const { store, hub } = setUp('gap-trim', 10)
    await store.subscribe('away', 'news', 1)
    const cursorAtSubscribe = (await store.cursors('away', ['news'])).get('news')!
    for (let i = 0; i < 600; i++) await arrive(store, 'news', `m-${i}`, 1)
    const kept = await store.readEvents('news', '0-0', 1000)
    expect(kept.length).toBeLessThan(600)

    const sink = new RecordingSink()
    sink.attachment = await hub.attach('away', sink)
    await sink.waitForCount(kept.length)
    await arrive(store, 'news', 'live', 1)
    await sink.waitForCount(kept.length + 1)
    expect(sink.gaps).toEqual([{ topic: 'news', after: cursorAtSubscribe, until: kept[0]!.previous, reason: 'trimmed' }])
    expect(sink.ids()).toEqual([...kept.map((e) => e.messageId), 'live'])
  })

  it('tells a client that a message body expired instead of skipping it', async () => {
    const { prefix, store, hub } = setUp('gap-expired')
    await store.subscribe('c', 'news', 1)
    for (const id of ['a', 'b', 'c']) await arrive(store, 'news', id, 1)
    const raw = new Redis(LOCAL_REDIS)
    await raw.del(new StoreKeys(prefix).message('news', 'b'))
    raw.disconnect()
    const events = await store.readEvents('news', '0-0', 10)
    const sink = new RecordingSink()
    sink.attachment = await hub.attach('c', sink)
    await sink.waitForCount(2)
    expect(sink.ids()).toEqual(['a', 'c'])
    expect(sink.gaps).toEqual([{ topic: 'news', after: events[0]!.cursor, until: events[1]!.cursor, reason: 'expired' }])
  })
})

describe('slow consumer', () => {
  it('is closed with slow_consumer when its buffer is full and resumes from its cursor with nothing lost', async () => {
    const { store, hub } = setUp('slow')
    await store.subscribe('slow', 'news', 1)
    const slow = new RecordingSink({ autoSend: false, sendFirst: 3, capacity: 5 })
    slow.attachment = await hub.attach('slow', slow)
    const ids = Array.from({ length: 20 }, (_, i) => `m-${i}`)
    for (const id of ids) await arrive(store, 'news', id, 1)
    await waitFor('the slow consumer to be closed', async () => slow.closed)
    expect(slow.closed?.code).toBe('slow_consumer')
    // Three were written, five queued when the sixth did not fit: those five were never sent.
    expect(slow.ids()).toEqual(ids.slice(0, 3))
    await slow.attachment.detach()

    const again = new RecordingSink()
    again.attachment = await hub.attach('slow', again)
    await again.waitForCount(ids.length - 3)
    expect([...slow.ids(), ...again.ids()]).toEqual(ids)
    expect(hub.stats().attachments).toBe(1)
  })
})


describe('unconfirmed deliveries', () => {
  it('close a connection whose sink never confirms them, and its client resumes from where it attached', async () => {
    const { store } = setUp('unconfirmed')
    // Confirmations come asynchronously, so the limit must exceed what one batch pushes at once.
    const hub = new DeliveryHub({ store, nodeCount: 1, cursorFlushMs: 20, maxUnconfirmed: 4, batchSize: 2 })
    cleanup.push(() => hub.close())
    await store.subscribe('c', 'news', 1)
    const forgetful = new RecordingSink()
    await hub.attach('c', { push: () => true, gap: () => true, close: (code, reason) => forgetful.close(code, reason) })
    for (let i = 0; i < 8; i++) await arrive(store, 'news', `m-${i}`, 1)
    await waitFor('the connection to be closed', async () => forgetful.closed)
    expect(forgetful.closed?.code).toBe('slow_consumer')
    const again = new RecordingSink()
    again.attachment = await hub.attach('c', again)
    await again.waitForCount(8)
    expect(again.ids()).toEqual(Array.from({ length: 8 }, (_, i) => `m-${i}`))
  })
})
