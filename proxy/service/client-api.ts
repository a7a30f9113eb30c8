import { createHash, randomUUID } from 'node:crypto'
import type { ProxyEdgeConfig } from '../../common/config/index.js'
import { OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import type { PublishResult } from '../nodes/node-pool.js'
import type { ProxyStore } from '../store/store.js'
import { assertClientId, assertMessageSize, assertThreshold, assertTopicName, MAX_TOPICS_PER_REQUEST } from './validation.js'

/** How the client API publishes: NodePool in production. */
export interface Publisher {
  publish(topic: string, data: Buffer, messageId: string): Promise<PublishResult>
}

export interface PublishInput {
  clientId: string
  topic: string
  data: Buffer
  /**
   * The client's timestamp (ms), when it sent one: the same client, timestamp
   * and bytes published again within DEDUPLICATION_TTL_S is answered
   * `deduplicated` and not sent twice (a retried request).
   */
  timestamp?: number
}

export interface PublishOutcome {
  status: 'published' | 'deduplicated'
  messageId: string
}

/** How long a timestamped publish is remembered for de-duplication. */
export const DEDUPLICATION_TTL_S = 600

/** The phrase the published clients look for when a client publishes to a topic it has not subscribed to. */
export const TOPIC_NOT_ASSIGNED = 'topic not assigned'

/**
 * What a client can ask of the proxy, whichever edge it comes through (REST,
 * gRPC): inputs are checked here, state goes to the store, publishes to a node.
 * Auth (a later issue) wraps the edges; this layer trusts the client id it gets.
 */
export class ClientApi {
  constructor(
    private readonly store: ProxyStore,
    private readonly publisher: Publisher,
    private readonly edge: ProxyEdgeConfig,
    private readonly log: Logger,
  ) {}

  get defaultThreshold(): number {
    return this.edge.defaultThreshold
  }

  get maxMessageSize(): number {
    return this.edge.maxMessageSize
  }

  async subscribe(clientId: string, topics: readonly string[], threshold: number): Promise<void> {
    assertClientId(clientId)
    assertThreshold(threshold)
    if (topics.length > MAX_TOPICS_PER_REQUEST) {
      throw new OptimumError('invalid_argument', `at most ${MAX_TOPICS_PER_REQUEST} topics per request`)
    }
    for (const topic of topics) assertTopicName(topic)
    for (const topic of topics) {
      if (await this.store.subscribe(clientId, topic, threshold)) this.log.info({ clientId, topic, threshold }, 'client subscribed')
    }
  }

  /** False when the client was not subscribed to the topic. */
  async unsubscribe(clientId: string, topic: string): Promise<boolean> {
    assertClientId(clientId)
    assertTopicName(topic)
    const removed = await this.store.unsubscribe(clientId, topic)
    if (removed) this.log.info({ clientId, topic }, 'client unsubscribed')
    return removed
  }

  topics(clientId: string): Promise<Map<string, number>> {
    assertClientId(clientId)
    return this.store.clientTopics(clientId)
  }

  async publish(input: PublishInput): Promise<PublishOutcome> {
    const { clientId, topic, data, timestamp } = input
    assertClientId(clientId)
    assertTopicName(topic)
    assertMessageSize(data.length, this.edge.maxMessageSize)
    const topics = await this.store.clientTopics(clientId)
    if (!topics.has(topic)) throw new OptimumError('permission_denied', TOPIC_NOT_ASSIGNED)

    let messageId: string
    if (timestamp === undefined) {
      messageId = randomUUID().replaceAll('-', '')
    } else {
      messageId = fingerprint(clientId, timestamp, data)
      if (!(await this.store.claimPublish(topic, messageId, DEDUPLICATION_TTL_S))) return { status: 'deduplicated', messageId }
    }
    const result = await this.publisher.publish(topic, data, messageId)
    return { status: result.fresh ? 'published' : 'deduplicated', messageId: result.messageId }
  }
}

/** The message id of a timestamped publish: the same on every replica, so a retry through another one is caught too. */
function fingerprint(clientId: string, timestamp: number, data: Buffer): string {
  return createHash('sha256').update(`${clientId}\u0000${timestamp}\u0000`).update(data).digest('hex').slice(0, 32)
}
