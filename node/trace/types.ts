import type { TraceKind } from '../optimum/types.js'

export type { TraceKind }

/**
 * One protocol event of this node, in either mode: what the sidecar streams
 * as a trace response (proto/trace.proto) and what the p2p snapshot counts.
 * Peers are peer id strings (12D3KooW…).
 */
export interface NodeTrace {
  kind: TraceKind
  /** Wall clock, ms since the epoch (stamped when the node saw the event). */
  time: number
  topic?: string
  messageId?: string
  /** The peer the event is about: a shard's or message's sender, a grafted, pruned, added or removed peer. */
  peer?: string
  /** A shard's coding coefficients (optimum mode). */
  coefficients?: Uint8Array
  reason?: string
}

export type TraceListener = (event: NodeTrace) => void
