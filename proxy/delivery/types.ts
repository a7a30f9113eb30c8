import type { Cursor } from '../store/store.js'

/** One message delivered to one client. */
export interface Delivery {
  topic: string
  messageId: string
  data: Uint8Array
  /** The publishing node's peer id (`source_node_id` on the wire). */
  source: string
  /** Position of this delivery in the topic's stream: pass it back as `since` to resume after it. */
  cursor: Cursor
  /** How many nodes held the message when it became deliverable to this client. */
  nodes: number
}

/**
 * Events of `topic` after `after` up to and including `until` could not be
 * replayed: the stream was trimmed past the client's cursor (`trimmed`) or a
 * message body expired before it was sent (`expired`). Delivery goes on after
 * `until`. The client is told instead of being silently skipped.
 */
export interface GapNotice {
  topic: string
  after: Cursor
  until: Cursor
  reason: 'trimmed' | 'expired'
}

/**
 * Why the hub ends an attachment:
 * - `slow_consumer`: `push` returned false (or far too many deliveries were
 *   never confirmed with `sent`); the client resumes from its cursor on reconnect.
 * - `shutdown`: the hub is stopping (replica shutting down); reconnect anywhere.
 */
export type CloseCode = 'slow_consumer' | 'shutdown'

/**
 * The edge's side of a connection (a WebSocket, a gRPC stream). The hub calls
 * it from one place at a time, in stream order per topic.
 */
export interface DeliverySink {
  /** Queue a delivery; false when the bounded buffer is full (the hub then closes with `slow_consumer`). */
  push(delivery: Delivery): boolean
  /** Queue a gap notice; same contract as `push`. */
  gap(notice: GapNotice): boolean
  /** End the connection with a code the client can act on; the hub has already detached. */
  close(code: CloseCode, reason: string): void
}

export interface AttachOptions {
  /**
   * Replay from here instead of the stored cursors: every subscribed topic
   * restarts after this stream id (stream ids are millisecond timestamps, so
   * a cursor of one topic means "after that instant" for the others).
   */
  since?: Cursor
}

/** One connection of one client, as the hub sees it. */
export interface Attachment {
  readonly clientId: string
  /**
   * The frame carrying `delivery` has been written to the transport (the ws
   * `send` callback, the gRPC `write` callback). Only then may its cursor be
   * stored: deliveries queued but never sent are replayed on reconnect. Call
   * it for every pushed delivery, in order; the hub stores cursors in batches.
   */
  sent(delivery: Delivery): void
  /** The connection ended (client left, error): stop pushing and store the cursors reached. Idempotent. */
  detach(): Promise<void>
}
