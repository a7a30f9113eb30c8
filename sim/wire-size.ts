import { shardLengthFor } from '../common/rlnc/index.js'
import type { Rpc } from '../node/optimum/types.js'

/**
 * What a frame would take on the wire, by kind of content. A size model, not
 * the adapter's encoder: protobuf field tags and length prefixes are counted
 * as protobuf writes them, and the parts the simulator stands in for (message
 * ids, keys, signatures, and, when payloads are modelled, the payload itself)
 * are counted at the size the real node sends.
 */
export const FRAME_KINDS = ['payload', 'coefficients', 'header', 'subscription', 'graft', 'prune', 'ihave', 'iwant', 'idontwant', 'framing'] as const
export type FrameKind = (typeof FRAME_KINDS)[number]
export const KIND = Object.fromEntries(FRAME_KINDS.map((kind, i) => [kind, i])) as Record<FrameKind, number>

/** A message id as the node makes it: a 32-byte digest. */
export const ID_BYTES = 32
/** An Ed25519 public key, protobuf-marshalled (libp2p). */
const PUBLIC_KEY_BYTES = 36
const SIGNATURE_BYTES = 64
const HASH_BYTES = 32
/** A shard header's fields but the topic: id, length, k, hash, key, signature, publishedAt. */
const HEADER_FIELDS = field(ID_BYTES) + 6 + 3 + field(HASH_BYTES) + field(PUBLIC_KEY_BYTES) + field(SIGNATURE_BYTES) + 7
/** A peer id (multihash of an Ed25519 key) and one dialable address, for peer exchange. */
const PEER_INFO_BYTES = 38 + 30
/** A gossipsub message's envelope besides its data: from, seqno, topic, signature, key. */
const GOSSIP_ENVELOPE_BYTES = 38 + 8 + 64 + 36

export function varintBytes(n: number): number {
  let bytes = 1
  while (n >= 128) {
    n = Math.floor(n / 128)
    bytes++
  }
  return bytes
}

/** A length-delimited field: tag, length, content. */
function field(content: number): number {
  return 1 + varintBytes(content) + content
}

/** Counts bytes into a tally indexed by KIND; returns the frame's total. */
export type Tally = Float64Array

export function newTally(): Tally {
  return new Float64Array(FRAME_KINDS.length)
}

/**
 * Bytes of an optimum frame. `messageBytes`, when set, is the modelled
 * message size: shard payloads count as a shard of that message (the codec
 * ran on a small stand-in payload).
 */
export function optimumFrameBytes(rpc: Rpc, topicBytes: number, messageBytes: number | undefined, tally: Tally): number {
  const before = total(tally)
  const subscriptions = rpc.subscriptions?.length ?? 0
  if (subscriptions > 0) tally[KIND.subscription] += subscriptions * field(2 + field(topicBytes))
  const shards = rpc.shards
  if (shards !== undefined) {
    for (let i = 0; i < shards.length; i++) {
      const shard = shards[i]
      const k = shard.coefficients.length
      const payload = messageBytes === undefined ? shard.payload.length : shardLengthFor(messageBytes, k)
      const header = shard.header === undefined ? 0 : field(HEADER_FIELDS + field(topicBytes))
      const inner = field(ID_BYTES) + 2 + field(k) + field(payload) + header
      tally[KIND.payload] += payload
      tally[KIND.coefficients] += k
      tally[KIND.header] += header
      tally[KIND.framing] += field(inner) - payload - k - header
    }
  }
  const control = rpc.control
  if (control !== undefined) {
    tally[KIND.graft] += (control.graft?.length ?? 0) * field(field(topicBytes))
    for (const prune of control.prune ?? []) tally[KIND.prune] += field(field(topicBytes) + prune.peers.length * field(PEER_INFO_BYTES) + 3)
    for (const ihave of control.ihave ?? []) tally[KIND.ihave] += field(field(topicBytes) + ihave.messages.length * field(field(ID_BYTES) + 3))
    tally[KIND.iwant] += (control.iwant?.length ?? 0) * field(field(ID_BYTES) + 3)
    tally[KIND.idontwant] += (control.idontwant?.length ?? 0) * field(ID_BYTES)
  }
  // The frame's own length prefix (and the control message's field).
  tally[KIND.framing] += 4 + (control === undefined ? 0 : 3)
  return total(tally) - before
}

function total(tally: Tally): number {
  let sum = 0
  for (let i = 0; i < tally.length; i++) sum += tally[i]
  return sum
}

/** Bytes of one gossipsub RPC carrying the parts the baseline sends. */
export interface GossipFrameShape {
  messageBytes?: number
  ihave?: number
  iwant?: number
  idontwant?: number
  graft?: boolean
  prune?: boolean
}

export function gossipFrameBytes(shape: GossipFrameShape, topicBytes: number, tally: Tally): number {
  let total = 0
  const add = (kind: number, bytes: number): void => {
    tally[kind] += bytes
    total += bytes
  }
  if (shape.messageBytes !== undefined) {
    add(KIND.payload, shape.messageBytes)
    add(KIND.header, GOSSIP_ENVELOPE_BYTES + field(topicBytes))
    add(KIND.framing, field(field(shape.messageBytes) + GOSSIP_ENVELOPE_BYTES + field(topicBytes)) - shape.messageBytes - GOSSIP_ENVELOPE_BYTES - field(topicBytes))
  }
  if (shape.ihave) add(KIND.ihave, field(field(topicBytes) + shape.ihave * field(ID_BYTES)))
  if (shape.iwant) add(KIND.iwant, field(shape.iwant * field(ID_BYTES)))
  if (shape.idontwant) add(KIND.idontwant, field(shape.idontwant * field(ID_BYTES)))
  if (shape.graft) add(KIND.graft, field(field(topicBytes)))
  if (shape.prune) add(KIND.prune, field(field(topicBytes) + 3))
  add(KIND.framing, 4)
  return total
}
