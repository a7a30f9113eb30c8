import { describe, expect, it } from 'vitest'
import { bodyDigest, SeenMessages } from '../pubsub/seen-messages.js'

describe('SeenMessages', () => {
  it('remembers an id with the digest of its body, once', () => {
    const seen = new SeenMessages(1000, 10)
    const a = bodyDigest(Buffer.from('a'))
    expect(seen.add('id', a)).toBe(true)
    expect(seen.add('id', bodyDigest(Buffer.from('b')))).toBe(false)
    expect(seen.digestOf('id')!.equals(a)).toBe(true)
    seen.delete('id')
    expect(seen.digestOf('id')).toBeUndefined()
  })

  it('forgets an id after the TTL, and the oldest past the size cap', () => {
    let now = 0
    const seen = new SeenMessages(100, 3, () => now)
    const d = bodyDigest(Buffer.alloc(0))
    seen.add('a', d)
    now = 50
    seen.add('b', d)
    now = 100
    expect(seen.digestOf('a')).toBeUndefined()
    expect(seen.digestOf('b')).toBeDefined()
    for (const id of ['c', 'd', 'e']) seen.add(id, d)
    expect(seen.size).toBe(3)
    expect(seen.digestOf('b')).toBeUndefined()
    expect(['c', 'd', 'e'].every((id) => seen.digestOf(id) !== undefined)).toBe(true)
  })
})
