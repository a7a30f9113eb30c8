import { randomBytes } from 'node:crypto'
import { OptimumError } from '../../common/errors.js'
import { MESSAGE_ID_PATTERN } from './engine.js'

/**
 * What a node puts on the wire as a pubsub message body: the network-wide
 * message id travels with the payload, so every node derives the same id (and
 * drops the same duplicates) whatever node the message entered through.
 *
 *   byte 0      version (1)
 *   byte 1      id length L, 1..128
 *   bytes 2..   id (printable ASCII, MESSAGE_ID_PATTERN)
 *   then        the message bytes
 */
const VERSION = 1
const HEADER = 2
const MAX_ID_LENGTH = 128

export interface Envelope {
  id: string
  payload: Uint8Array
}

export function newMessageId(): string {
  return randomBytes(16).toString('hex')
}

export function encodeEnvelope(id: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + id.length + payload.length)
  out[0] = VERSION
  out[1] = id.length
  // ids are ASCII (checked by assertMessageId), so one char is one byte
  for (let i = 0; i < id.length; i++) out[HEADER + i] = id.charCodeAt(i)
  out.set(payload, HEADER + id.length)
  return out
}

/** Throws OptimumError('invalid_argument') on anything a well-behaved peer would not send. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length < HEADER + 1 || bytes[0] !== VERSION) {
    throw new OptimumError('invalid_argument', 'malformed message envelope')
  }
  const idLength = bytes[1]!
  if (idLength === 0 || idLength > MAX_ID_LENGTH || bytes.length < HEADER + idLength) {
    throw new OptimumError('invalid_argument', 'malformed message envelope id')
  }
  const id = String.fromCharCode(...bytes.subarray(HEADER, HEADER + idLength))
  if (!MESSAGE_ID_PATTERN.test(id)) throw new OptimumError('invalid_argument', 'malformed message envelope id')
  return { id, payload: bytes.subarray(HEADER + idLength) }
}

