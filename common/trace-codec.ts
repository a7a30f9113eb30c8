import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { loadWireType } from './proto.js'

/**
 * The published trace format (proto/trace.proto), both ways: nodes encode
 * their events into it for the sidecar's trace responses; proxies and
 * clients decode them. Peer ids travel as raw multihash bytes and message
 * ids as UTF-8, as the published Go client reads them.
 */
const TraceEventType = loadWireType('trace.proto', 'optimum.pb.TraceEvent')

export const TraceType = {
  PUBLISH_MESSAGE: 0,
  REJECT_MESSAGE: 1,
  DUPLICATE_MESSAGE: 2,
  DELIVER_MESSAGE: 3,
  ADD_PEER: 4,
  REMOVE_PEER: 5,
  RECV_RPC: 6,
  SEND_RPC: 7,
  DROP_RPC: 8,
  JOIN: 9,
  LEAVE: 10,
  GRAFT: 11,
  PRUNE: 12,
  DUPLICATE_SHARD: 13,
  UNHELPFUL_SHARD: 14,
  UNNECESSARY_SHARD: 15,
  NEW_SHARD: 16,
} as const
export type TraceTypeNumber = (typeof TraceType)[keyof typeof TraceType]

const SHARD_FIELDS: Partial<Record<number, string>> = {
  [TraceType.DUPLICATE_SHARD]: 'duplicateShard',
  [TraceType.UNHELPFUL_SHARD]: 'unhelpfulShard',
  [TraceType.UNNECESSARY_SHARD]: 'unnecessaryShard',
  [TraceType.NEW_SHARD]: 'newShard',
}

/** One trace event, flattened: which fields are set depends on the type. */
export interface TraceRecord {
  type: TraceTypeNumber
  /** The node that traced it (12D3KooW…). */
  node: string
  /** Unix ms (the wire carries ns). */
  timeMs: number
  messageId?: string
  topic?: string
  /** receivedFrom of message and shard events; the subject peer of ADD/REMOVE_PEER, GRAFT, PRUNE. */
  peer?: string
  coefficients?: Uint8Array
  reason?: string
}

const peerBytesCache = new Map<string, Uint8Array>()
const PEER_CACHE_MAX = 4096

function peerBytes(peer: string): Uint8Array | undefined {
  let bytes = peerBytesCache.get(peer)
  if (bytes !== undefined) return bytes
  try {
    bytes = peerIdFromString(peer).toMultihash().bytes
  } catch {
    return undefined
  }
  if (peerBytesCache.size >= PEER_CACHE_MAX) peerBytesCache.clear()
  peerBytesCache.set(peer, bytes)
  return bytes
}

function peerString(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined
  try {
    return peerIdFromMultihash(Digest.decode(bytes)).toString()
  } catch {
    return undefined
  }
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

export function encodeTraceEvent(record: TraceRecord): Uint8Array {
  const id = record.messageId === undefined ? undefined : utf8.encode(record.messageId)
  const peer = record.peer === undefined ? undefined : peerBytes(record.peer)
  const event: Record<string, unknown> = {
    type: record.type,
    peerID: peerBytes(record.node),
    timestamp: Math.round(record.timeMs * 1e6),
  }
  const { topic, reason } = record
  switch (record.type) {
    case TraceType.PUBLISH_MESSAGE:
      event.publishMessage = { messageID: id, topic }
      break
    case TraceType.REJECT_MESSAGE:
      event.rejectMessage = { messageID: id, receivedFrom: peer, reason, topic }
      break
    case TraceType.DUPLICATE_MESSAGE:
      event.duplicateMessage = { messageID: id, receivedFrom: peer, topic }
      break
    case TraceType.DELIVER_MESSAGE:
      event.deliverMessage = { messageID: id, topic, receivedFrom: peer }
      break
    case TraceType.ADD_PEER:
      event.addPeer = { peerID: peer }
      break
    case TraceType.REMOVE_PEER:
      event.removePeer = { peerID: peer }
      break
    case TraceType.JOIN:
      event.join = { topic }
      break
    case TraceType.LEAVE:
      event.leave = { topic }
      break
    case TraceType.GRAFT:
      event.graft = { peerID: peer, topic }
      break
    case TraceType.PRUNE:
      event.prune = { peerID: peer, topic }
      break
    default: {
      const field = SHARD_FIELDS[record.type]
      if (field !== undefined) event[field] = { messageID: id, receivedFrom: peer, coefficients: record.coefficients }
    }
  }
  return TraceEventType.encode(TraceEventType.fromObject(event)).finish()
}

interface DecodedSub {
  messageID?: Uint8Array
  receivedFrom?: Uint8Array
  peerID?: Uint8Array
  topic?: string
  reason?: string
  coefficients?: Uint8Array
}

/** Throws on bytes that are not a TraceEvent, or one without a type. */
export function decodeTraceEvent(bytes: Uint8Array): TraceRecord {
  const event = TraceEventType.toObject(TraceEventType.decode(bytes), { longs: Number }) as Record<string, unknown>
  if (typeof event.type !== 'number') throw new Error('trace event without a type')
  const type = event.type as TraceTypeNumber
  const sub = (Object.values(event).find((value) => typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) ??
    {}) as DecodedSub
  const record: TraceRecord = {
    type,
    node: peerString(event.peerID as Uint8Array | undefined) ?? '',
    timeMs: typeof event.timestamp === 'number' ? event.timestamp / 1e6 : 0,
  }
  if (sub.messageID !== undefined) record.messageId = fromUtf8.decode(sub.messageID)
  if (sub.topic !== undefined) record.topic = sub.topic
  const peer = peerString(sub.receivedFrom ?? sub.peerID)
  if (peer !== undefined) record.peer = peer
  if (sub.coefficients !== undefined) record.coefficients = sub.coefficients
  if (sub.reason !== undefined) record.reason = sub.reason
  return record
}
