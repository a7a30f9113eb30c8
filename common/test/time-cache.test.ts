import { describe, expect, it } from 'vitest'
import { TimeCache } from '../time-cache.js'

describe('TimeCache', () => {
  it('remembers a key until its ttl passes', () => {
    let now = 1000
    const cache = new TimeCache<string>(100, 10, () => now)
    expect(cache.add('a')).toBe(true)
    expect(cache.add('a')).toBe(false)
    expect(cache.has('a')).toBe(true)
    now += 99
    expect(cache.has('a')).toBe(true)
    now += 1
    expect(cache.has('a')).toBe(false)
    expect(cache.add('a')).toBe(true)
  })

  it('drops expired keys when adding, so memory follows the ttl', () => {
    let now = 0
    const cache = new TimeCache<number>(10, 1000, () => now)
    for (let i = 0; i < 100; i++) {
      cache.add(i)
      now += 1
    }
    expect(cache.size).toBeLessThanOrEqual(11)
  })

  it('never holds more than maxSize keys: the oldest go first', () => {
    const cache = new TimeCache<number>(60_000, 3)
    for (const key of [1, 2, 3, 4]) cache.add(key)
    expect(cache.size).toBe(3)
    expect(cache.has(1)).toBe(false)
    expect(cache.has(4)).toBe(true)
  })

  it('rejects nonsensical bounds', () => {
    expect(() => new TimeCache(0, 1)).toThrow(RangeError)
    expect(() => new TimeCache(1, 0)).toThrow(RangeError)
  })
})
