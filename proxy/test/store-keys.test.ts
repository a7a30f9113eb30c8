import { describe, expect, it } from 'vitest'
import { StoreKeys } from '../store/keys.js'
import { compareCursors, isCursor } from '../store/redis-store.js'

/** The part of a key Redis Cluster hashes (its rules: first `{`, then the next `}`, non-empty). */
function hashTag(key: string): string {
  const open = key.indexOf('{')
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1
  return close > open + 1 ? key.slice(open + 1, close) : key
}

describe('StoreKeys', () => {
  const keys = new StoreKeys('app:')

  it('puts every key of one topic in one slot, and all subscription state in another', () => {
    for (const topic of ['news', 'a}b', '{x}', 'with:colon', 'per%cent']) {
      const tags = new Set([keys.topicStream(topic), keys.message(topic, 'id{1}'), keys.cursors(topic), keys.publishFingerprint(topic, 'f}p')].map(hashTag))
      expect(tags.size, topic).toBe(1)
    }
    const subs = new Set([keys.clientTopics('c}1'), keys.topicClients('{t}'), keys.activeTopics(), keys.clients(), keys.subscriptionChanges()].map(hashTag))
    expect([...subs]).toEqual(['s'])
  })

  it('gives distinct names distinct keys, whatever characters they hold', () => {
    const topics = ['a', 'a}', 'a:stream', 'a%7D', '%', '{a}', 'a}:stream']
    const streams = topics.map((t) => keys.topicStream(t))
    expect(new Set(streams).size).toBe(topics.length)
    expect(new Set(topics.map((t) => hashTag(keys.topicStream(t)))).size).toBe(topics.length)
    expect(keys.message('t', 'x:cursors')).not.toBe(keys.cursors('t'))
    for (const key of [...streams, keys.clientTopics('x')]) expect(key.startsWith('app:')).toBe(true)
  })
})

describe('cursors', () => {
  it('order numerically and accept only canonical stream ids', () => {
    const sorted = ['0-0', '0-1', '9-0', '9-10', '10-0', '10-2', '1796163515768-0', '1796163515768-11']
    const shuffled = [...sorted].reverse()
    expect(shuffled.sort(compareCursors)).toEqual(sorted)
    expect(compareCursors('5-5', '5-5')).toBe(0)
    for (const good of sorted) expect(isCursor(good), good).toBe(true)
    for (const bad of ['', '1', '01-0', '1-01', '-1-0', '1-0-0', 'a-b', '1.5-0', `${'9'.repeat(21)}-0`, ' 1-0']) expect(isCursor(bad), bad).toBe(false)
  })
})
