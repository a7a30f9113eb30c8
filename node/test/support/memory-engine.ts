import { randomBytes } from 'node:crypto'
import { OptimumError } from '../../../common/errors.js'
import {
  MESSAGE_ID_PATTERN,
  type DeliveredMessage,
  type MessageListener,
  type PubSubEngine,
  type PublishResult,
} from '../../pubsub/engine.js'
import { bodyDigest } from '../../pubsub/seen-messages.js'

export interface MemoryEngineOptions {
  maxMessageSize?: number
  /** Peer id reported as SourceNodeID of local publishes. */
  peerId?: string
  /** Each publish resolves after this long (to test that callers wait for it). */
  publishDelayMs?: number
}

/**
 * An in-process PubSubEngine for sidecar tests: no network. A publish on a
 * topic this engine is subscribed to is delivered to its own listeners; ids
 * are deduplicated like the network does; subscribe/unsubscribe calls are
 * recorded in order.
 */
export class MemoryEngine implements PubSubEngine {
  readonly mode = 'optimum' as const
  readonly maxMessageSize: number
  readonly peerId: string
  readonly calls: { op: 'subscribe' | 'unsubscribe'; topic: string }[] = []
  readonly published: { topic: string; id: string; data: Uint8Array }[] = []
  /** Set to make the next publishes reject with this error. */
  failWith: Error | undefined
  private readonly subscribed = new Set<string>()
  /** id → digest of the body, as the engines remember them (a different body under a seen id is a conflict). */
  private readonly seen = new Map<string, Buffer>()
  private readonly listeners = new Set<MessageListener>()
  private readonly publishDelayMs: number

  constructor(options: MemoryEngineOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? 1024 * 1024
    this.peerId = options.peerId ?? '12D3KooWMemoryEngineTestPeer00000000000000000000000'
    this.publishDelayMs = options.publishDelayMs ?? 0
  }

  subscribe(topic: string): void {
    this.calls.push({ op: 'subscribe', topic })
    this.subscribed.add(topic)
  }

  unsubscribe(topic: string): void {
    this.calls.push({ op: 'unsubscribe', topic })
    this.subscribed.delete(topic)
  }

  topics(): string[] {
    return [...this.subscribed]
  }

  meshPeers(): string[] {
    return []
  }

  /** How many times `op` was called for `topic`. */
  count(op: 'subscribe' | 'unsubscribe', topic: string): number {
    return this.calls.filter((c) => c.op === op && c.topic === topic).length
  }

  async publish(topic: string, data: Uint8Array, id?: string): Promise<PublishResult> {
    if (topic === '') throw new OptimumError('invalid_argument', 'topic is missing')
    if (data.length > this.maxMessageSize) {
      throw new OptimumError('too_large', `message is ${data.length} bytes; the limit is ${this.maxMessageSize} bytes`)
    }
    if (id !== undefined && !MESSAGE_ID_PATTERN.test(id)) {
      throw new OptimumError('invalid_argument', 'malformed message id')
    }
    if (this.publishDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.publishDelayMs))
    if (this.failWith) throw this.failWith
    const messageId = id ?? randomBytes(16).toString('hex')
    const known = this.seen.get(messageId)
    if (known !== undefined) {
      if (!known.equals(bodyDigest(data))) throw new OptimumError('already_exists', `message id ${messageId} was already published with a different body`)
      return { id: messageId, fresh: false, peers: 0 }
    }
    this.seen.set(messageId, bodyDigest(data))
    const copy = Uint8Array.from(data)
    this.published.push({ topic, id: messageId, data: copy })
    if (this.subscribed.has(topic)) this.emit({ id: messageId, topic, data: copy, source: this.peerId })
    return { id: messageId, fresh: true, peers: 0 }
  }

  /** A message "from the network": delivered when subscribed, deduplicated by id. */
  inject(topic: string, data: Uint8Array, source = '12D3KooWRemoteTestPeer0000000000000000000000000000', id?: string): void {
    const messageId = id ?? randomBytes(16).toString('hex')
    if (this.seen.has(messageId)) return
    this.seen.set(messageId, bodyDigest(data))
    if (this.subscribed.has(topic)) this.emit({ id: messageId, topic, data, source })
  }

  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit(message: DeliveredMessage): void {
    for (const listener of this.listeners) listener(message)
  }
}
