import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { decodeTraceEvent, encodeTraceEvent, TraceType } from '../trace-codec.js'

/** The top-level field numbers of an encoded message, read with a bare protobuf reader (no schema). */
function fieldNumbers(bytes: Uint8Array): Map<number, Uint8Array | number> {
  const reader = protobuf.Reader.create(bytes)
  const fields = new Map<number, Uint8Array | number>()
  while (reader.pos < reader.len) {
    const tag = reader.uint32()
    const field = tag >>> 3
    if ((tag & 7) === 0) fields.set(field, Number(reader.int64()))
    else if ((tag & 7) === 2) fields.set(field, reader.bytes())
    else throw new Error(`unexpected wire type ${tag & 7}`)
  }
  return fields
}

describe('trace codec (the published TraceEvent format)', async () => {
  const node = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const sender = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

  it('puts a NEW_SHARD in field 20 with messageID 1, receivedFrom 2, coefficients 3; type 16 in field 1, ns timestamp in 3', () => {
    const bytes = encodeTraceEvent({
      type: TraceType.NEW_SHARD,
      node: node.toString(),
      timeMs: 1_700_000_000_123,
      messageId: 'm-1',
      peer: sender.toString(),
      coefficients: Uint8Array.of(1, 2, 3, 4),
    })
    const top = fieldNumbers(bytes)
    expect(top.get(1)).toBe(16)
    expect(Buffer.from(top.get(2) as Uint8Array)).toEqual(Buffer.from(node.toMultihash().bytes))
    expect(Math.abs((top.get(3) as number) - 1_700_000_000_123e6)).toBeLessThan(1e3)
    const shard = fieldNumbers(top.get(20) as Uint8Array)
    expect(Buffer.from(shard.get(1) as Uint8Array).toString()).toBe('m-1')
    expect(Buffer.from(shard.get(2) as Uint8Array)).toEqual(Buffer.from(sender.toMultihash().bytes))
    expect([...(shard.get(3) as Uint8Array)]).toEqual([1, 2, 3, 4])
  })

  it.each([
    [TraceType.PUBLISH_MESSAGE, 4],
    [TraceType.REJECT_MESSAGE, 5],
    [TraceType.DELIVER_MESSAGE, 7],
    [TraceType.ADD_PEER, 8],
    [TraceType.REMOVE_PEER, 9],
    [TraceType.JOIN, 13],
    [TraceType.LEAVE, 14],
    [TraceType.GRAFT, 15],
    [TraceType.PRUNE, 16],
    [TraceType.DUPLICATE_SHARD, 17],
    [TraceType.UNHELPFUL_SHARD, 18],
    [TraceType.UNNECESSARY_SHARD, 19],
  ])('type %i goes in field %i and decodes back', (type, field) => {
    const record = { type, node: node.toString(), timeMs: 1_700_000_000_000, messageId: 'id', topic: 't', peer: sender.toString() }
    const bytes = encodeTraceEvent(record)
    expect(fieldNumbers(bytes).has(field)).toBe(true)
    const decoded = decodeTraceEvent(bytes)
    expect(decoded.type).toBe(type)
    expect(decoded.node).toBe(node.toString())
    expect(Math.abs(decoded.timeMs - record.timeMs)).toBeLessThan(1)
  })

  it('places DELIVER fields as published: messageID 1, topic 2, receivedFrom 3', () => {
    const bytes = encodeTraceEvent({ type: TraceType.DELIVER_MESSAGE, node: node.toString(), timeMs: 1, messageId: 'x', topic: 'news', peer: sender.toString() })
    const deliver = fieldNumbers(fieldNumbers(bytes).get(7) as Uint8Array)
    expect(Buffer.from(deliver.get(2) as Uint8Array).toString()).toBe('news')
    expect(Buffer.from(deliver.get(3) as Uint8Array)).toEqual(Buffer.from(sender.toMultihash().bytes))
    expect(decodeTraceEvent(bytes)).toMatchObject({ messageId: 'x', topic: 'news', peer: sender.toString() })
  })

  it('refuses bytes that are not a trace event', () => {
    expect(() => decodeTraceEvent(Uint8Array.of(0xff, 0xff, 0xff))).toThrow()
    expect(() => decodeTraceEvent(new Uint8Array(0))).toThrow(/without a type/)
  })
})
