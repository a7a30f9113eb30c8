import { MAX_TOPIC_BYTES } from '../pubsub/validation.js'
import type { PeerInfo, Shard } from './types.js'

/**
 * Shape checks for what peers send. The wire codec already produced typed
 * objects, but the core trusts no carrier: a simulator or a buggy adapter
 * may hand it anything, and nothing here may throw later.
 */
const MAX_ID_LENGTH = 128
const MAX_PEER_ID_LENGTH = 256
const MAX_ADDRS = 16
const MAX_ADDR_LENGTH = 512

export function readTopic(topic: unknown): string | undefined {
  return typeof topic === 'string' && topic.length > 0 && topic.length <= MAX_TOPIC_BYTES ? topic : undefined
}

/** The shard if its fields have the right types and plausible sizes; the header is checked when it is first used. */
export function readShard(raw: unknown): Shard | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const shard = raw as Shard
  if (typeof shard.messageId !== 'string' || shard.messageId.length === 0 || shard.messageId.length > MAX_ID_LENGTH) return undefined
  if (!Number.isInteger(shard.hop) || shard.hop < 0) return undefined
  if (!(shard.coefficients instanceof Uint8Array) || !(shard.payload instanceof Uint8Array)) return undefined
  if (shard.header !== undefined && (typeof shard.header !== 'object' || shard.header === null)) return undefined
  return shard
}

export function readPeerInfo(raw: unknown): PeerInfo | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const { id, addrs } = raw as PeerInfo
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_PEER_ID_LENGTH || !Array.isArray(addrs)) return undefined
  const good = addrs.filter((a): a is string => typeof a === 'string' && a.length <= MAX_ADDR_LENGTH).slice(0, MAX_ADDRS)
  return { id, addrs: good }
}
