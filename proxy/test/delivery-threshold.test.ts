import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { DeliveryHub } from '../delivery/hub.js'
import { deliversAt, nodesNeeded } from '../delivery/threshold.js'
import { arrive, RecordingSink, text } from './support/delivery.js'
import { LOCAL_REDIS, openStore, removePrefix, testPrefix } from './support/store.js'

describe('nodesNeeded', () => {
  it('is ceil(threshold × N), at least 1 and at most N', () => {
    expect(nodesNeeded(0.1, 4)).toBe(1)
    expect(nodesNeeded(1, 4)).toBe(4)
    expect(nodesNeeded(0.5, 4)).toBe(2)
    expect(nodesNeeded(0.51, 4)).toBe(3)
    expect(nodesNeeded(0, 4)).toBe(1)
    expect(nodesNeeded(0.7, 10)).toBe(7) // 0.7 × 10 = 7.000000000000001 in floating point
    expect(nodesNeeded(0.3, 10)).toBe(3)
    expect(nodesNeeded(1, 1)).toBe(1)
    expect(nodesNeeded(0.2, 0)).toBe(1)
  })

  it('delivers at exactly one count level', () => {
    expect([1, 2, 3, 4].filter((n) => deliversAt(n, 0.75, 4))).toEqual([3])
  })
})

describe('thresholds with N = 4', () => {
  const prefix = testPrefix('threshold')
  const store = openStore({ prefix })
  const hub = new DeliveryHub({ store, nodeCount: 4 })
  afterEach(async () => {
    await hub.close()
    await store.close()
    await removePrefix(LOCAL_REDIS, prefix)
  })

  it('delivers at 0.1 after one node and at 1.0 only after all four, once each', async () => {
    await store.subscribe('low', 'news', 0.1)
    await store.subscribe('high', 'news', 1.0)
    const [low, high] = [new RecordingSink(), new RecordingSink()]
    low.attachment = await hub.attach('low', low)
    high.attachment = await hub.attach('high', high)

    await arrive(store, 'news', 'm1', 1)
    await low.waitForCount(1)
    expect(low.delivered[0]).toMatchObject({ messageId: 'm1', nodes: 1, topic: 'news', source: 'peer-source' })
    expect(text(low.delivered[0]!)).toBe('payload m1')

    await arrive(store, 'news', 'm1', 2, 1) // nodes 2 and 3 of 4
    await arrive(store, 'news', 'm2', 1) // a later event, dispatched after m1's third level
    await low.waitForCount(2)
    expect(high.delivered).toEqual([])

    await arrive(store, 'news', 'm1', 1, 3) // the fourth node
    await high.waitForCount(1)
    expect(high.delivered[0]).toMatchObject({ messageId: 'm1', nodes: 4 })
    expect(low.ids()).toEqual(['m1', 'm2'])
    expect(high.ids()).toEqual(['m1'])
  })
})

describe('bodies a replica already holds', () => {
  const prefix = testPrefix('primed')
  const store = openStore({ prefix })
  const hub = new DeliveryHub({ store, nodeCount: 4 })
  afterAll(async () => {
    await hub.close()
    await store.close()
    await removePrefix(LOCAL_REDIS, prefix)
  })

  const arrival = (topic: string, node: number, body: string) => ({ node: `node-${node}`, messageId: 'm1', topic, data: new TextEncoder().encode(body), source: `peer-${node}` })

  it('sends the body it got from the only node holding it', async () => {
    await store.subscribe('one', 'news', 0.25)
    const one = new RecordingSink()
    one.attachment = await hub.attach('one', one)
    const first = arrival('news', 0, 'the first body')
    hub.arrived(first, await store.recordArrival(first))
    await one.waitForCount(1)
    expect([text(one.delivered[0]!), one.delivered[0]!.source]).toEqual(['the first body', 'peer-0'])
  })

  it('sends the stored body, never the bytes of a later node that disagrees', async () => {
    await store.subscribe('two', 'sports', 0.5)
    const two = new RecordingSink()
    two.attachment = await hub.attach('two', two)
    // The first node's report reached the store through another replica.
    await store.recordArrival(arrival('sports', 0, 'the first body'))
    const second = arrival('sports', 1, 'a different body')
    hub.arrived(second, await store.recordArrival(second))
    await two.waitForCount(1)
    expect([text(two.delivered[0]!), two.delivered[0]!.source]).toEqual(['the first body', 'peer-0'])
  })
})
