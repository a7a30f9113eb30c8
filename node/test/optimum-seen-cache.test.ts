import { describe, expect, it } from 'vitest'
import { SeenCache } from '../optimum/seen-cache.js'

const hash = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

describe('optimum seen cache', () => {
  it('remembers an id with its content for the TTL, then forgets it', () => {
    let now = 0
    const seen = new SeenCache(1000, 10, () => now)
    seen.add('a', hash(1))
    expect(seen.has('a')).toBe(true)
    expect(seen.sameContent('a', hash(1))).toBe(true)
    expect(seen.sameContent('a', hash(2))).toBe(false)
    expect(seen.sameContent('b', hash(1))).toBeUndefined()
    now = 999
    expect(seen.has('a')).toBe(true)
    now = 1000
    expect(seen.has('a')).toBe(false)
    expect(seen.sameContent('a', hash(1))).toBeUndefined()
    expect(seen.size).toBe(0)
  })

  it('holds at most maxSize ids, dropping the oldest first', () => {
    const seen = new SeenCache(60_000, 3, () => 0)
    for (const id of ['a', 'b', 'c', 'd']) seen.add(id, hash(1))
    expect(['a', 'b', 'c', 'd'].map((id) => seen.has(id))).toEqual([false, true, true, true])
    expect(seen.size).toBe(3)
  })

  it('a re-added id takes the new content and expiry, and goes to the back of the line', () => {
    let now = 0
    const seen = new SeenCache(1000, 3, () => now)
    seen.add('a', hash(1))
    now = 500
    seen.add('b', hash(1))
    seen.add('a', hash(2))
    expect(seen.sameContent('a', hash(2))).toBe(true)
    seen.add('c', hash(1))
    seen.add('d', hash(1)) // full: 'b' is now the oldest
    expect([seen.has('a'), seen.has('b'), seen.has('c'), seen.has('d')]).toEqual([true, false, true, true])
    now = 1400
    expect(seen.has('a')).toBe(true) // its expiry is from the re-add
    now = 1500
    seen.prune()
    expect(seen.size).toBe(0)
  })

  it('keeps every id and its content as it grows past its first slots, with expiries interleaved', () => {
    let now = 0
    const seen = new SeenCache(10_000, 5000, () => now)
    for (let i = 0; i < 4000; i++) {
      now = i
      seen.add(`id-${i}`, hash(i % 251))
      if (i % 3 === 0) seen.add(`id-${i >> 1}`, hash(i % 251)) // re-adds leave holes behind
    }
    expect(seen.size).toBe(4000)
    for (let i = 0; i < 4000; i += 7) expect(seen.has(`id-${i}`)).toBe(true)
    expect(seen.sameContent('id-3999', hash(3999 % 251))).toBe(true)
    now = 10_000 + 1999
    seen.prune()
    // every id last added at time ≥ 2000 is left: 1997 was not re-added, 1999 was (at 3999)
    expect(seen.has('id-1997')).toBe(false)
    expect(seen.has('id-1999')).toBe(true)
    expect(seen.has('id-2000')).toBe(true)
    for (let i = 2000; i < 4000; i++) expect(seen.has(`id-${i}`)).toBe(true)
  })

  it('a cache of no size remembers nothing', () => {
    const seen = new SeenCache(1000, 0, () => 0)
    seen.add('a', hash(1))
    expect(seen.has('a')).toBe(false)
  })
})
