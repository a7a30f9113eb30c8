import { describe, expect, it } from 'vitest'
import { decodeEnvelope, encodeEnvelope, newMessageId } from '../pubsub/envelope.js'
import { assertMessageId } from '../pubsub/validation.js'

describe('message envelope', () => {
  it('round-trips an id and payload', () => {
    const payload = new Uint8Array([0, 1, 2, 255])
    const decoded = decodeEnvelope(encodeEnvelope('msg-1', payload))
    expect(decoded.id).toBe('msg-1')
    expect([...decoded.payload]).toEqual([...payload])
  })

  it('carries an empty payload', () => {
    expect(decodeEnvelope(encodeEnvelope('x', new Uint8Array())).payload.length).toBe(0)
  })

  it('rejects what a well-behaved peer would not send', () => {
    const good = encodeEnvelope('abc', new Uint8Array([1]))
    const bad: Uint8Array[] = [
      new Uint8Array(),
      new Uint8Array([1]),
      Uint8Array.of(2, ...good.subarray(1)), // unknown version
      Uint8Array.of(1, 0, 65), // empty id
      Uint8Array.of(1, 200, ...new Uint8Array(200).fill(65)), // id too long
      Uint8Array.of(1, 5, 65, 66), // id runs past the end
      Uint8Array.of(1, 2, 65, 32), // space in id
    ]
    for (const bytes of bad) expect(() => decodeEnvelope(bytes)).toThrow(/malformed/)
  })

  it('makes unique printable ids and validates client ids', () => {
    const id = newMessageId()
    expect(id).toMatch(/^[0-9a-f]{32}$/)
    expect(newMessageId()).not.toBe(id)
    expect(() => assertMessageId(id)).not.toThrow()
    for (const bad of ['', 'has space', 'x'.repeat(129), 'é']) expect(() => assertMessageId(bad)).toThrow(/message_id/)
  })
})
