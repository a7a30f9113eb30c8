import { createHash } from 'node:crypto'
import { assertMessageId, assertTopic } from '../pubsub/validation.js'
import type { ShardHeader } from './types.js'

/** Domain separation: a header signature can never be mistaken for another signed object. */
const DOMAIN = new TextEncoder().encode('optimum/shard-header/v1\0')
const HASH_BYTES = 32
/** Protobuf-marshalled public keys and signatures of libp2p's key types stay well below this. */
const MAX_KEY_BYTES = 1024

/**
 * The bytes a publisher signs: a domain tag, then id and topic (each a u32
 * big-endian byte length and UTF-8), length as a u64, k as a u8, the 32-byte
 * hash and publishedAt as a float64, all big-endian. One encoding for every
 * implementation, independent of protobuf field order.
 */
export function headerSigningBytes(header: Pick<ShardHeader, 'messageId' | 'topic' | 'length' | 'k' | 'hash' | 'publishedAt'>): Uint8Array {
  const utf8 = new TextEncoder()
  const id = utf8.encode(header.messageId)
  const topic = utf8.encode(header.topic)
  const out = new Uint8Array(DOMAIN.length + 4 + id.length + 4 + topic.length + 8 + 1 + HASH_BYTES + 8)
  const view = new DataView(out.buffer)
  let at = 0
  out.set(DOMAIN, at)
  at += DOMAIN.length
  view.setUint32(at, id.length)
  out.set(id, at + 4)
  at += 4 + id.length
  view.setUint32(at, topic.length)
  out.set(topic, at + 4)
  at += 4 + topic.length
  view.setBigUint64(at, BigInt(header.length))
  at += 8
  out[at++] = header.k
  out.set(header.hash.subarray(0, HASH_BYTES), at)
  at += HASH_BYTES
  view.setFloat64(at, header.publishedAt)
  return out
}

export function sha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest()
}

/** Why a header from a peer cannot be used, or undefined when it is well-formed and within `maxMessageSize`. */
export function headerProblem(header: ShardHeader, maxMessageSize: number): string | undefined {
  if (typeof header !== 'object' || header === null) return 'header is not an object'
  try {
    assertMessageId(header.messageId)
    assertTopic(header.topic)
  } catch (err) {
    return (err as Error).message
  }
  if (!Number.isInteger(header.length) || header.length < 0 || header.length > maxMessageSize) {
    return `length ${header.length} is outside 0..${maxMessageSize}`
  }
  if (!Number.isInteger(header.k) || header.k < 1 || header.k > 255) return `k ${header.k} is outside 1..255`
  if (!(header.hash instanceof Uint8Array) || header.hash.length !== HASH_BYTES) return 'hash is not 32 bytes'
  for (const [name, bytes] of [['publisher', header.publisher], ['signature', header.signature]] as const) {
    if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > MAX_KEY_BYTES) return `${name} is missing or too long`
  }
  if (typeof header.publishedAt !== 'number' || !Number.isFinite(header.publishedAt)) return 'publishedAt is not a number'
  return undefined
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Two headers for one id are the same message only if every signed field and the signature agree. */
export function sameHeader(a: ShardHeader, b: ShardHeader): boolean {
  return (
    a.messageId === b.messageId &&
    a.topic === b.topic &&
    a.length === b.length &&
    a.k === b.k &&
    a.publishedAt === b.publishedAt &&
    sameBytes(a.hash, b.hash) &&
    sameBytes(a.signature, b.signature) &&
    sameBytes(a.publisher, b.publisher)
  )
}
