import { OptimumError } from '../../common/errors.js'
import { loadWireType } from '../../common/proto.js'
import { MAX_K, shardLengthFor } from '../../common/rlnc/index.js'
import { MESSAGE_ID_PATTERN } from '../pubsub/engine.js'
import { MAX_TOPIC_BYTES } from '../pubsub/validation.js'
import type { Control, IHave, IWant, PeerInfo, Prune, Rpc, Shard, ShardHeader, SubOpt } from './types.js'

/**
 * Bytes on the wire for the core's frames (`proto/optimum.proto`), and the
 * structural rules every received frame must meet before the core sees it.
 * The core can then trust shapes (an id is an id, k fits the codec, a payload
 * has the length its header implies) and judge only meaning.
 */
export const OPTIMUM_PROTOCOL = '/optimum/rlnc/1.0.0'

/** Per-frame caps. Honest cores stay far below them; each bounds what one frame can make a node hold or do. */
export const WIRE_LIMITS = {
  subscriptions: 256,
  shards: 256,
  grafts: 256,
  prunes: 256,
  pxPeers: 32,
  pxAddrs: 8,
  addrLength: 256,
  peerIdLength: 128,
  /** IHAVE entries (summed over topics), IWANTs and IDONTWANTs, each. */
  ids: 5_000,
  publisherKeyBytes: 1_024,
  signatureBytes: 1_024,
  hop: 255,
  backoffSeconds: 3_600,
} as const

/** Room in a frame for everything but shard payloads (headers, control, framing). */
const FRAME_OVERHEAD = 256 * 1024
const HASH_BYTES = 32

/** The largest frame a node with this message size limit sends or accepts. */
export function maxFrameBytes(maxMessageSize: number): number {
  // k = 1 gives the largest shard: the whole framed message.
  return shardLengthFor(maxMessageSize, 1) + FRAME_OVERHEAD
}

const RpcType = loadWireType('optimum.proto', 'optimum.rlnc.Rpc')

/** A frame broke the wire rules: the sender is at fault. */
export class WireError extends OptimumError {
  constructor(message: string) {
    super('invalid_argument', message)
    this.name = 'WireError'
  }
}

// ---- encoding ----

export function encodeRpc(rpc: Rpc): Uint8Array {
  return RpcType.encode(toWire(rpc)).finish()
}

function toWire(rpc: Rpc): object {
  const control = rpc.control
  return {
    subscriptions: rpc.subscriptions,
    shards: rpc.shards?.map((shard) => ({
      message_id: shard.messageId,
      header: shard.header && headerToWire(shard.header),
      hop: shard.hop,
      coefficients: shard.coefficients,
      payload: shard.payload,
    })),
    control: control && {
      graft: control.graft,
      prune: control.prune?.map((p) => ({ topic: p.topic, peers: p.peers, backoff_seconds: p.backoffSeconds })),
      ihave: control.ihave?.map((h) => ({
        topic: h.topic,
        messages: h.messages.map((m) => ({ message_id: m.messageId, rank: m.rank })),
      })),
      iwant: control.iwant?.map((w) => ({ message_id: w.messageId, count: w.count })),
      idontwant: control.idontwant,
    },
  }
}

function headerToWire(header: ShardHeader): object {
  return {
    message_id: header.messageId,
    topic: header.topic,
    length: header.length,
    k: header.k,
    hash: header.hash,
    publisher: header.publisher,
    signature: header.signature,
    published_at: header.publishedAt,
  }
}

// ---- length without encoding (simulators, accounting) ----

function varintLength(value: number): number {
  let n = 1
  while (value >= 128) {
    value = Math.floor(value / 128)
    n++
  }
  return n
}
/** A length-delimited field of `length` bytes, field number < 16 (one tag byte). */
const delimited = (length: number): number => 1 + varintLength(length) + length
// protobufjs writes every field that is set, defaults included.
const text = (value: string): number => delimited(Buffer.byteLength(value))
const bytes = (data: Uint8Array): number => delimited(data.length)
const uint = (value: number): number => 1 + varintLength(value)
const DOUBLE = 9

function headerLength(h: ShardHeader): number {
  return (
    text(h.messageId) + text(h.topic) + uint(h.length) + uint(h.k) + bytes(h.hash) + bytes(h.publisher) +
    bytes(h.signature) + DOUBLE
  )
}

function shardLength(s: Shard): number {
  return (
    text(s.messageId) + (s.header ? delimited(headerLength(s.header)) : 0) + uint(s.hop) + bytes(s.coefficients) +
    bytes(s.payload)
  )
}

function controlLength(c: Control): number {
  let n = 0
  for (const g of c.graft ?? []) n += delimited(text(g.topic))
  for (const p of c.prune ?? []) {
    let peers = 0
    for (const info of p.peers) peers += delimited(text(info.id) + info.addrs.reduce((sum, a) => sum + text(a), 0))
    n += delimited(text(p.topic) + peers + uint(p.backoffSeconds))
  }
  for (const h of c.ihave ?? []) {
    n += delimited(text(h.topic) + h.messages.reduce((sum, m) => sum + delimited(text(m.messageId) + uint(m.rank)), 0))
  }
  for (const w of c.iwant ?? []) n += delimited(text(w.messageId) + uint(w.count))
  for (const id of c.idontwant ?? []) n += text(id)
  return n
}

/** Exactly `encodeRpc(rpc).length`, computed without encoding. */
export function encodedLength(rpc: Rpc): number {
  let n = 0
  for (const sub of rpc.subscriptions ?? []) n += delimited(text(sub.topic) + 2)
  for (const shard of rpc.shards ?? []) n += delimited(shardLength(shard))
  if (rpc.control) n += delimited(controlLength(rpc.control))
  return n
}

// ---- decoding with validation ----

/** The decoded protobufjs message, as read: snake_case, absent fields at their defaults. */
interface WireRpc {
  subscriptions: Array<{ topic: string; subscribe: boolean }>
  shards: Array<{
    message_id: string
    header?: WireHeader | null
    hop: number
    coefficients: Uint8Array
    payload: Uint8Array
  }>
  control?: {
    graft: Array<{ topic: string }>
    prune: Array<{ topic: string; peers: Array<{ id: string; addrs: string[] }>; backoff_seconds: number }>
    ihave: Array<{ topic: string; messages: Array<{ message_id: string; rank: number }> }>
    iwant: Array<{ message_id: string; count: number }>
    idontwant: string[]
  } | null
}

interface WireHeader {
  message_id: string
  topic: string
  length: number
  k: number
  hash: Uint8Array
  publisher: Uint8Array
  signature: Uint8Array
  published_at: number
}

export interface DecodeLimits {
  /** OPTIMUM_MAX_MSG_SIZE: no header may announce a longer message. */
  maxMessageSize: number
}

/** Decodes and validates one frame; throws WireError on anything a well-behaved peer would not send. */
export function decodeRpc(frame: Uint8Array, limits: DecodeLimits): Rpc {
  if (frame.length > maxFrameBytes(limits.maxMessageSize)) throw new WireError(`frame of ${frame.length} bytes is over the limit`)
  let wire: WireRpc
  try {
    wire = RpcType.decode(frame) as unknown as WireRpc
  } catch (err) {
    throw new WireError(`malformed frame: ${(err as Error).message}`)
  }
  const rpc: Rpc = {}
  if (wire.subscriptions.length > 0) rpc.subscriptions = subscriptions(wire.subscriptions)
  if (wire.shards.length > 0) rpc.shards = shards(wire.shards, limits)
  if (wire.control) {
    const control = controlFrom(wire.control)
    if (control) rpc.control = control
  }
  return rpc
}

function cap<T>(items: T[], max: number, what: string): T[] {
  if (items.length > max) throw new WireError(`${items.length} ${what} in one frame; the limit is ${max}`)
  return items
}

function topic(value: string): string {
  if (value.length === 0 || Buffer.byteLength(value) > MAX_TOPIC_BYTES || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new WireError('malformed topic')
  }
  return value
}

function messageId(value: string): string {
  if (!MESSAGE_ID_PATTERN.test(value)) throw new WireError('malformed message id')
  return value
}

function uint32(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new WireError(`${what} ${value} is out of range`)
  return value
}

function finite(value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new WireError('header published_at is not a time')
  return value
}

function subscriptions(list: WireRpc['subscriptions']): SubOpt[] {
  return cap(list, WIRE_LIMITS.subscriptions, 'subscriptions').map((s) => ({ topic: topic(s.topic), subscribe: s.subscribe }))
}

function shards(list: WireRpc['shards'], limits: DecodeLimits): Shard[] {
  const maxPayload = shardLengthFor(limits.maxMessageSize, 1)
  return cap(list, WIRE_LIMITS.shards, 'shards').map((s) => {
    const id = messageId(s.message_id)
    const k = s.coefficients.length
    if (k < 1 || k > MAX_K) throw new WireError(`shard of ${id} has ${k} coefficients; 1..${MAX_K} allowed`)
    if (s.payload.length < 1 || s.payload.length > maxPayload) {
      throw new WireError(`shard of ${id} has a payload of ${s.payload.length} bytes`)
    }
    const shard: Shard = {
      messageId: id,
      hop: uint32(s.hop, WIRE_LIMITS.hop, 'hop'),
      coefficients: s.coefficients,
      payload: s.payload,
    }
    if (s.header) {
      const header = headerFrom(s.header, limits)
      if (header.messageId !== id) throw new WireError(`shard of ${id} carries the header of ${header.messageId}`)
      if (header.k !== k) throw new WireError(`shard of ${id} has ${k} coefficients but its header says k=${header.k}`)
      if (shardLengthFor(header.length, header.k) !== s.payload.length) {
        throw new WireError(`shard of ${id} has a payload of ${s.payload.length} bytes, which its header's length and k rule out`)
      }
      shard.header = header
    }
    return shard
  })
}

function headerFrom(h: WireHeader, limits: DecodeLimits): ShardHeader {
  if (h.length > limits.maxMessageSize) throw new WireError(`header announces ${h.length} bytes; the limit is ${limits.maxMessageSize}`)
  if (h.hash.length !== HASH_BYTES) throw new WireError('header hash is not 32 bytes')
  if (h.publisher.length === 0 || h.publisher.length > WIRE_LIMITS.publisherKeyBytes) throw new WireError('malformed publisher key')
  if (h.signature.length === 0 || h.signature.length > WIRE_LIMITS.signatureBytes) throw new WireError('malformed signature')
  return {
    messageId: messageId(h.message_id),
    topic: topic(h.topic),
    length: h.length,
    k: uint32(h.k, MAX_K, 'k'),
    hash: h.hash,
    publisher: h.publisher,
    signature: h.signature,
    publishedAt: finite(h.published_at),
  }
}

function controlFrom(c: NonNullable<WireRpc['control']>): Control | undefined {
  const control: Control = {}
  if (c.graft.length > 0) control.graft = cap(c.graft, WIRE_LIMITS.grafts, 'grafts').map((g) => ({ topic: topic(g.topic) }))
  if (c.prune.length > 0) control.prune = cap(c.prune, WIRE_LIMITS.prunes, 'prunes').map(pruneFrom)
  if (c.ihave.length > 0) {
    const entries = c.ihave.reduce((sum, h) => sum + h.messages.length, 0)
    cap(c.ihave, WIRE_LIMITS.subscriptions, 'IHAVE topics')
    if (entries > WIRE_LIMITS.ids) throw new WireError(`${entries} IHAVE entries in one frame; the limit is ${WIRE_LIMITS.ids}`)
    control.ihave = c.ihave.map((h): IHave => {
      return {
        topic: topic(h.topic),
        messages: h.messages.map((m) => ({ messageId: messageId(m.message_id), rank: uint32(m.rank, MAX_K, 'rank') })),
      }
    })
  }
  if (c.iwant.length > 0) {
    control.iwant = cap(c.iwant, WIRE_LIMITS.ids, 'IWANTs').map(
      (w): IWant => ({ messageId: messageId(w.message_id), count: uint32(w.count, MAX_K, 'IWANT count') }),
    )
  }
  if (c.idontwant.length > 0) control.idontwant = cap(c.idontwant, WIRE_LIMITS.ids, 'IDONTWANTs').map(messageId)
  return Object.keys(control).length > 0 ? control : undefined
}

function pruneFrom(p: NonNullable<WireRpc['control']>['prune'][number]): Prune {
  return {
    topic: topic(p.topic),
    peers: cap(p.peers, WIRE_LIMITS.pxPeers, 'exchanged peers').map((info): PeerInfo => {
      if (info.id.length === 0 || info.id.length > WIRE_LIMITS.peerIdLength) throw new WireError('malformed exchanged peer id')
      const addrs = cap(info.addrs, WIRE_LIMITS.pxAddrs, 'addresses of one exchanged peer')
      if (addrs.some((a) => a.length === 0 || a.length > WIRE_LIMITS.addrLength)) throw new WireError('malformed exchanged address')
      return { id: info.id, addrs }
    }),
    backoffSeconds: uint32(p.backoff_seconds, WIRE_LIMITS.backoffSeconds, 'backoff'),
  }
}

// ---- splitting what the core sends into frames a peer accepts ----

interface Counts {
  subscriptions: number
  shards: number
  grafts: number
  prunes: number
  ihaveTopics: number
  ihaveEntries: number
  iwants: number
  idontwants: number
}

function countsOf(rpc: Rpc): Counts {
  const c = rpc.control
  return {
    subscriptions: rpc.subscriptions?.length ?? 0,
    shards: rpc.shards?.length ?? 0,
    grafts: c?.graft?.length ?? 0,
    prunes: c?.prune?.length ?? 0,
    ihaveTopics: c?.ihave?.length ?? 0,
    ihaveEntries: c?.ihave?.reduce((sum, h) => sum + h.messages.length, 0) ?? 0,
    iwants: c?.iwant?.length ?? 0,
    idontwants: c?.idontwant?.length ?? 0,
  }
}

const LIMIT_OF: Counts = {
  subscriptions: WIRE_LIMITS.subscriptions,
  shards: WIRE_LIMITS.shards,
  grafts: WIRE_LIMITS.grafts,
  prunes: WIRE_LIMITS.prunes,
  ihaveTopics: WIRE_LIMITS.subscriptions,
  ihaveEntries: WIRE_LIMITS.ids,
  iwants: WIRE_LIMITS.ids,
  idontwants: WIRE_LIMITS.ids,
}

/** What a frame asks of the receiver, for rate limits: one per frame plus one per item in it. */
export function rpcWeight(rpc: Rpc): number {
  const counts = countsOf(rpc)
  return 1 + counts.subscriptions + counts.shards + counts.grafts + counts.prunes + counts.ihaveEntries + counts.iwants + counts.idontwants
}

function withinLimits(counts: Counts): boolean {
  return (Object.keys(LIMIT_OF) as Array<keyof Counts>).every((key) => counts[key] <= LIMIT_OF[key])
}

/** One-item pieces of a frame, in the order they should go out (control before shards). */
function pieces(rpc: Rpc): Rpc[] {
  const out: Rpc[] = []
  for (const sub of rpc.subscriptions ?? []) out.push({ subscriptions: [sub] })
  const c = rpc.control
  for (const graft of c?.graft ?? []) out.push({ control: { graft: [graft] } })
  for (const prune of c?.prune ?? []) out.push({ control: { prune: [prune] } })
  for (const ihave of c?.ihave ?? []) {
    for (let i = 0; i < Math.max(1, ihave.messages.length); i += WIRE_LIMITS.ids) {
      out.push({ control: { ihave: [{ topic: ihave.topic, messages: ihave.messages.slice(i, i + WIRE_LIMITS.ids) }] } })
    }
  }
  for (const iwant of c?.iwant ?? []) out.push({ control: { iwant: [iwant] } })
  for (const id of c?.idontwant ?? []) out.push({ control: { idontwant: [id] } })
  for (const shard of rpc.shards ?? []) out.push({ shards: [shard] })
  return out
}

function merge(into: Rpc, piece: Rpc): void {
  if (piece.subscriptions) (into.subscriptions ??= []).push(...piece.subscriptions)
  if (piece.shards) (into.shards ??= []).push(...piece.shards)
  const c = piece.control
  if (c === undefined) return
  const target = (into.control ??= {})
  if (c.graft) (target.graft ??= []).push(...c.graft)
  if (c.prune) (target.prune ??= []).push(...c.prune)
  if (c.ihave) (target.ihave ??= []).push(...c.ihave)
  if (c.iwant) (target.iwant ??= []).push(...c.iwant)
  if (c.idontwant) (target.idontwant ??= []).push(...c.idontwant)
}

/**
 * The frames to put on the wire for one of the core's Rpcs: itself when it
 * meets the per-frame caps (the usual case), else its parts packed in order
 * into as few frames as the caps allow. Every frame it returns is one that
 * `decodeRpc` on the other side accepts (a single shard always fits).
 */
export function splitRpc(rpc: Rpc, maxFrameBytes: number): Rpc[] {
  if (withinLimits(countsOf(rpc)) && encodedLength(rpc) <= maxFrameBytes) return [rpc]
  const frames: Rpc[] = []
  let current: Rpc = {}
  let bytes = 0
  let counts = countsOf(current)
  for (const piece of pieces(rpc)) {
    const size = encodedLength(piece)
    const added = countsOf(piece)
    const next = Object.fromEntries((Object.keys(counts) as Array<keyof Counts>).map((key) => [key, counts[key] + added[key]])) as unknown as Counts
    if (bytes > 0 && (bytes + size > maxFrameBytes || !withinLimits(next))) {
      frames.push(current)
      current = {}
      bytes = 0
      counts = added
    } else {
      counts = next
    }
    merge(current, piece)
    bytes += size
  }
  if (bytes > 0) frames.push(current)
  return frames
}
