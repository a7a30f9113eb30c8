import type { Logger } from '../../common/logger.js'
import type { DeliveredMessage, MessageListener, PubSubEngine, PublishResult } from '../pubsub/engine.js'
import { newMessageId } from '../pubsub/envelope.js'
import { assertMessageId, assertMessageSize, assertTopic } from '../pubsub/validation.js'
import type { Delivery, OptimumCore } from './types.js'

export interface OptimumEngineOptions {
  core: OptimumCore
  maxMessageSize: number
  selfId: string
  log: Logger
}

/**
 * PubSubEngine over the optimum protocol core: the same validation,
 * idempotent ids and local delivery as the gossipsub mode, so the sidecar and
 * the API cannot tell the modes apart.
 */
export class OptimumEngine implements PubSubEngine {
  readonly mode = 'optimum' as const
  readonly maxMessageSize: number
  private readonly core: OptimumCore
  private readonly log: Logger
  private readonly selfId: string
  private readonly listeners = new Set<MessageListener>()

  constructor(options: OptimumEngineOptions) {
    this.core = options.core
    this.maxMessageSize = options.maxMessageSize
    this.selfId = options.selfId
    this.log = options.log
  }

  subscribe(topic: string): void {
    assertTopic(topic)
    this.core.subscribe(topic)
    this.log.info({ topic }, 'subscribed to topic')
  }

  unsubscribe(topic: string): void {
    this.core.unsubscribe(topic)
    this.log.info({ topic }, 'unsubscribed from topic')
  }

  topics(): string[] {
    return this.core.topics()
  }

  meshPeers(topic: string): string[] {
    return this.core.meshPeers(topic)
  }

  async publish(topic: string, data: Uint8Array, id?: string): Promise<PublishResult> {
    assertTopic(topic)
    assertMessageSize(data, this.maxMessageSize)
    const messageId = id ?? newMessageId()
    assertMessageId(messageId)
    const result = this.core.publish(topic, data, messageId)
    if (result.fresh && this.core.topics().includes(topic)) {
      this.emit({ id: messageId, topic, data, source: this.selfId })
    }
    return { id: result.id, fresh: result.fresh, peers: result.peers }
  }

  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** The core's deliver output. */
  deliver(message: Delivery): void {
    this.emit({ id: message.id, topic: message.topic, data: message.data, source: message.source })
  }

  /**
   * Once per id across both paths without a cache of its own: the core's seen
   * ids cover its publishes (a repeat is not fresh) and its deliveries (a
   * message never arrives twice, nor after our publish of its id).
   */
  private emit(message: DeliveredMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message)
      } catch (err) {
        this.log.error({ err, topic: message.topic, id: message.id }, 'message listener failed')
      }
    }
  }
}
