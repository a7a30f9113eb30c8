/**
 * What the proxy needs from its shared state. Redis lives behind this interface
 * (`RedisProxyStore` in ./redis-store.ts); the edges, the node connections and
 * the delivery hub never see Redis commands or key names. Every key, its type,
 * TTL and writer: ./README.md.
 *
 * Failures of Redis itself surface as `StoreUnavailableError` (code
 * `unavailable`); bad arguments as OptimumError `invalid_argument`.
 */

/** A position in a topic's event stream: a Redis stream id such as `1733090000000-0`. */
export type Cursor = string

/** The cursor before every event of a stream. */
export const CURSOR_ORIGIN: Cursor = '0-0'

/** One message as reported by one node's sidecar. */
export interface Arrival {
  /** Which node delivered it: its index in P2P_NODES or its peer id, the same for every replica. */
  node: string
  messageId: string
  topic: string
  data: Uint8Array
  /** The publishing node's peer id, as the sidecar reported it (`SourceNodeID`). */
  source: string
}

export interface ArrivalResult {
  /** How many distinct nodes have reported this message so far (cluster-wide). */
  nodes: number
  /**
   * True when this call was the first report from `node`, so the event
   * "message reached `nodes` nodes" was appended to the topic's stream; false
   * for a repeat (another replica, or the same one, already recorded it).
   */
  appended: boolean
  /** The appended event's cursor, when `appended`. */
  cursor?: Cursor
}

/**
 * One event of a topic's stream: "message `messageId` is now held by `nodes`
 * nodes". Each count level of a message appears exactly once.
 */
export interface TopicEvent {
  cursor: Cursor
  /** The cursor of the event appended just before this one (CURSOR_ORIGIN for the first): a larger `previous` than the reader's position means events were trimmed in between. */
  previous: Cursor
  messageId: string
  nodes: number
}

/** A message body, stored once per message with a TTL. */
export interface StoredMessage {
  data: Uint8Array
  source: string
}

export interface TopicStats {
  topic: string
  subscribers: number
  /** Events currently in the topic's stream. */
  streamLength: number
  /** Cursor of the newest event, CURSOR_ORIGIN when none. */
  lastCursor: Cursor
}

/** For `GET /api/v1/state`. */
export interface StoreStats {
  clients: number
  topics: TopicStats[]
}

/** A change of subscriptions somewhere in the cluster (from the change log). */
export interface SubscriptionChange {
  clientId: string
  topic: string
  /** `subscribe` also covers a changed threshold. */
  op: 'subscribe' | 'unsubscribe'
}

export interface ProxyStore {
  /**
   * Subscribe `clientId` to `topic` with `threshold` in [0,1] (re-subscribing
   * changes the threshold). The client's cursor for the topic starts at the
   * stream's current end the first time, so it gets what becomes deliverable
   * from now on, connected or not. Returns true when the subscription is new.
   */
  subscribe(clientId: string, topic: string, threshold: number): Promise<boolean>
  /** Returns false when the client was not subscribed. Drops the client's cursor for the topic. */
  unsubscribe(clientId: string, topic: string): Promise<boolean>
  /** topic → threshold; empty when the client has no subscription. */
  clientTopics(clientId: string): Promise<Map<string, number>>
  /** Topics with at least one subscriber anywhere in the cluster. */
  activeTopics(): Promise<string[]>
  /**
   * Subscription changes after `after` (CURSOR_ORIGIN or a previous answer's
   * `next`), oldest first. `complete: false` means changes were lost (log
   * trimmed, Redis restarted empty): re-read whatever you derived from them.
   * Prefer `SubscriptionWatch` (./watch.ts), which polls this.
   */
  subscriptionChanges(after: Cursor, limit?: number): Promise<{ changes: SubscriptionChange[]; next: Cursor; complete: boolean }>
  /** Where the change log ends now: where a new watcher starts. */
  subscriptionChangesEnd(): Promise<Cursor>

  /** Record that `arrival.node` holds the message; idempotent per (message, node). */
  recordArrival(arrival: Arrival): Promise<ArrivalResult>
  /** How many nodes have delivered the message (cluster-wide); 0 when none did or it expired. */
  nodesHolding(topic: string, messageId: string): Promise<number>
  /** Events with a cursor greater than `after`, oldest first, at most `limit`. */
  readEvents(topic: string, after: Cursor, limit: number): Promise<TopicEvent[]>
  /** The newest event's cursor, CURSOR_ORIGIN when the stream is empty or absent. */
  lastCursor(topic: string): Promise<Cursor>
  /** Bodies of messages of one topic; undefined where it expired. */
  messages(topic: string, messageIds: readonly string[]): Promise<(StoredMessage | undefined)[]>

  /** The client's stored cursor per topic (topics without one are absent). */
  cursors(clientId: string, topics: readonly string[]): Promise<Map<string, Cursor>>
  /** Store cursors of one topic; a stored cursor only moves forward. */
  saveCursors(topic: string, cursors: ReadonlyMap<string, Cursor>): Promise<void>

  /**
   * True the first time `fingerprint` is seen for `topic` within `ttlSeconds`:
   * the publish de-duplication behind `"status":"deduplicated"`.
   */
  claimPublish(topic: string, fingerprint: string, ttlSeconds: number): Promise<boolean>

  /** Round trip to Redis in milliseconds; throws StoreUnavailableError when it is down. */
  ping(): Promise<number>
  stats(): Promise<StoreStats>
  /**
   * A connection of its own for blocking reads (one per topic tail), closed
   * with `close()`. Blocking on the shared connection would stall every other
   * command.
   */
  blockingReader(): BlockingReader
  close(): Promise<void>
}

/** A dedicated connection for `XREAD BLOCK`. */
export interface BlockingReader {
  /** Wait up to `blockMs` for events of `topic` after `after`; [] on timeout. */
  readEvents(topic: string, after: Cursor, limit: number, blockMs: number): Promise<TopicEvent[]>
  close(): void
}
