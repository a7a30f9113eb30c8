import { afterEach, describe, expect, it } from 'vitest'
import { DeliveryHub } from '../delivery/hub.js'
import { SubscriptionWatch } from '../store/watch.js'
import { arrive, RecordingSink } from './support/delivery.js'
import { replayAcrossReplicas } from './support/replay-scenario.js'
import { waitFor } from './support/redis-server.js'
import { LOCAL_REDIS, openStore, removePrefix, testPrefix } from './support/store.js'

let cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

function scoped(name: string) {
  const prefix = testPrefix(name)
  cleanup.push(() => removePrefix(LOCAL_REDIS, prefix))
  const open = () => {
    const store = openStore({ prefix })
    cleanup.push(() => store.close())
    return store
  }
  const hub = (options: { watch?: SubscriptionWatch } = {}) => {
    const h = new DeliveryHub({ store: open(), nodeCount: 4, cursorFlushMs: 20, ...options })
    cleanup.push(() => h.close())
    return h
  }
  return { prefix, open, hub }
}

describe('replay', () => {
  it('gives a client that comes back on another replica all 100 messages in order, then live ones, no duplicate', async () => {
    const { prefix } = scoped('replay')
    await replayAcrossReplicas(() => openStore({ prefix }))
  })

  it('replays from an explicit since cursor instead of the stored one', async () => {
    const { open, hub } = scoped('since')
    const publisher = open()
    await publisher.subscribe('c', 'news', 0)
    for (let i = 0; i < 10; i++) await arrive(publisher, 'news', `m-${i}`, 1)
    const all = new RecordingSink()
    all.attachment = await hub().attach('c', all, { since: '0-0' })
    await all.waitForCount(10)
    await all.attachment.detach()
    const fromFifth = new RecordingSink()
    fromFifth.attachment = await hub().attach('c', fromFifth, { since: all.delivered[4]!.cursor })
    await arrive(publisher, 'news', 'after', 1)
    await fromFifth.waitForCount(6)
    expect(fromFifth.ids()).toEqual(['m-5', 'm-6', 'm-7', 'm-8', 'm-9', 'after'])
    await expect(hub().attach('c', new RecordingSink(), { since: 'yesterday' })).rejects.toMatchObject({ code: 'invalid_argument' })
  })

  it('gives a newly subscribed client only what became deliverable after it subscribed', async () => {
    const { open, hub } = scoped('fresh')
    const publisher = open()
    await arrive(publisher, 'news', 'before-subscribe', 1)
    await publisher.subscribe('late', 'news', 0.25)
    await arrive(publisher, 'news', 'while-away', 1)
    const sink = new RecordingSink()
    sink.attachment = await hub().attach('late', sink)
    await arrive(publisher, 'news', 'live', 1)
    await sink.waitForCount(2)
    expect(sink.ids()).toEqual(['while-away', 'live'])
  })

  it('follows a subscription made on another replica while the client is attached', async () => {
    const { open, hub } = scoped('follow')
    const watchStore = open()
    const watch = new SubscriptionWatch({ store: watchStore, intervalMs: 50 })
    await watch.start()
    cleanup.push(() => watch.stop())
    const local = hub({ watch })
    const sink = new RecordingSink()
    sink.attachment = await local.attach('roamer', sink)
    const elsewhere = open()
    await elsewhere.subscribe('roamer', 'late-topic', 1)
    await arrive(elsewhere, 'late-topic', 'first', 4)
    await sink.waitForCount(1)
    expect(sink.delivered[0]).toMatchObject({ topic: 'late-topic', messageId: 'first', nodes: 4 })
    expect(local.stats()).toEqual({ attachments: 1, tails: ['late-topic'] })
    await elsewhere.unsubscribe('roamer', 'late-topic')
    await waitFor('the tail to stop', async () => (local.stats().tails.length === 0 ? true : undefined))
    await local.close() // writes every cursor still to be written
    expect(await elsewhere.cursors('roamer', ['late-topic'])).toEqual(new Map())
  })

  it('serves one client_id connected twice on both connections', async () => {
    const { open, hub } = scoped('twice')
    const publisher = open()
    await publisher.subscribe('dup', 'news', 0.5)
    const [one, two] = [new RecordingSink(), new RecordingSink()]
    one.attachment = await hub().attach('dup', one)
    two.attachment = await hub().attach('dup', two)
    for (let i = 0; i < 5; i++) await arrive(publisher, 'news', `m-${i}`, 2)
    await one.waitForCount(5)
    await two.waitForCount(5)
    expect(one.ids()).toEqual(two.ids())
  })
})
