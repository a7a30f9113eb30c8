import type { DurablePublishConfig } from '../../common/config/index.js'
import { isOptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import type { PublishResult } from '../nodes/node-pool.js'
import type { NodePublisher, PublishQueue } from './publish-queue.js'
import { TIMED_OUT, within } from './within.js'

/**
 * `"status":"published"` that survives a node's or this replica's death:
 * the publish is first accepted into the queue (Redis), then sent to a node.
 * No node ack within PROXY_PUBLISH_DEADLINE_MS → the queue retries it on other
 * nodes, from any replica, and the client is still told `published`. Redis
 * refusing it → `unavailable` (503), never `published`.
 */
export class DurablePublisher implements NodePublisher {
  constructor(
    private readonly nodes: NodePublisher,
    private readonly queue: PublishQueue,
    private readonly config: DurablePublishConfig,
    private readonly log: Logger,
  ) {}

  async publish(topic: string, data: Buffer, messageId: string): Promise<PublishResult> {
    await this.queue.accept(topic, data, messageId)
    try {
      const outcome = await within(this.nodes.publish(topic, data, messageId), this.config.deadlineMs)
      if (outcome !== TIMED_OUT) return outcome
      this.log.warn({ topic, messageId, deadlineMs: this.config.deadlineMs }, 'no node acked the publish in time; queued for retry')
    } catch (err) {
      if (isOptimumError(err) && (err.code === 'invalid_argument' || err.code === 'too_large')) {
        await this.queue.forget(messageId)
        throw err
      }
      this.log.warn({ topic, messageId, err: err instanceof Error ? err.message : String(err) }, 'no node took the publish; queued for retry')
    }
    await this.queue.retrySoon(messageId).catch(() => {}) // failing this only delays the retry until the confirmation fires
    return { messageId, fresh: true, node: 'queued' }
  }
}
