import type { NodeMode } from '../../common/config/index.js'

/** A message as the node delivers it to its local (sidecar) subscribers. */
export interface DeliveredMessage {
  /** Unique in the network: the publisher's client-chosen id, or one the publishing node chose. */
  id: string
  topic: string
  data: Uint8Array
  /** Peer id (12D3KooW…) of the node where the message entered the network. */
  source: string
}

export interface PublishResult {
  id: string
  /** False when the network had already seen this id: the publish changed nothing. */
  fresh: boolean
  /** Mesh/fanout peers the message was sent to (0 is allowed: local subscribers still get it). */
  peers: number
}

export type MessageListener = (message: DeliveredMessage) => void

/**
 * The node's messaging layer, one implementation per NODE_MODE. The sidecar,
 * the HTTP API and the metrics see only this; neither libp2p nor the mode leaks
 * past it.
 *
 * Topic subscriptions are plain: the sidecar keeps the reference counts and
 * calls subscribe once for the first stream that wants a topic and unsubscribe
 * after the last one leaves.
 */
export interface PubSubEngine {
  readonly mode: NodeMode
  /** Largest message body publish accepts, in bytes. */
  readonly maxMessageSize: number
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  /** Topics this node is subscribed to. */
  topics(): string[]
  /** Peer ids in this node's mesh for the topic. */
  meshPeers(topic: string): string[]
  /**
   * Publish into the network. Rejects with OptimumError 'too_large' above
   * maxMessageSize and 'invalid_argument' for an empty topic or a malformed id.
   * When this node is subscribed to the topic, its listeners get the message too.
   *
   * Idempotency: an id this node has published or delivered within its
   * window resolves `fresh: false` when the body is the same, and rejects
   * with 'already_exists' when it differs. A publish that rejects for any
   * other reason leaves the id unseen, so a retry of it goes out.
   */
  publish(topic: string, data: Uint8Array, id?: string): Promise<PublishResult>
  /** Every message this node delivers (received, or published here on a subscribed topic). */
  onMessage(listener: MessageListener): () => void
}

/** Client-chosen message ids: printable ASCII, 1–128 bytes, so they are safe in JSON, logs and Redis keys. */
export const MESSAGE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/
