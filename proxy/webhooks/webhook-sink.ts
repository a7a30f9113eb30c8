import { setTimeout as sleep } from 'node:timers/promises'
import type { WebhookConfig } from '../../common/config/index.js'
import type { Logger } from '../../common/logger.js'
import type { CloseCode, Delivery, DeliverySink, GapNotice } from '../delivery/types.js'
import type { SentTracker } from '../service/sent-tracker.js'
import { postOnce } from './poster.js'
import type { WebhookRegistry, WebhookTarget } from './registry.js'
import { renderBody } from './template.js'
import type { WebhookUrlGuard } from './url-guard.js'

export interface WebhookSinkOptions {
  /** The client whose subscriptions these are (as the client named itself). */
  clientId: string
  /** The current target of a topic (the registry can change while attached). */
  target(topic: string): WebhookTarget | undefined
  config: WebhookConfig
  guard: WebhookUrlGuard
  registry: WebhookRegistry
  tracker: SentTracker
  log: Logger
  /** Deliveries waiting before the hub is told to stop (slow consumer); default 1000. */
  maxQueued?: number
  onClose(code: CloseCode, reason: string): void
}

/**
 * The DeliveryHub's sink for one client's webhooks: each topic's deliveries
 * are POSTed one after the other, in stream order, each retried with
 * exponential backoff up to WEBHOOK_ATTEMPTS; one that fails for good is
 * recorded (for /api/v1/state) and the next one goes. A delivery counts as
 * sent (its cursor may be stored) once it succeeded or was given up.
 */
export class WebhookSink implements DeliverySink {
  private readonly queues = new Map<string, Delivery[]>()
  private queued = 0
  private readonly abort = new AbortController()

  constructor(private readonly options: WebhookSinkOptions) {}

  push(delivery: Delivery): boolean {
    if (this.abort.signal.aborted || this.queued >= (this.options.maxQueued ?? 1000)) return false
    const queue = this.queues.get(delivery.topic)
    this.queued++
    if (queue) {
      queue.push(delivery)
      return true
    }
    this.queues.set(delivery.topic, [delivery])
    void this.drain(delivery.topic)
    return true
  }

  gap(notice: GapNotice): boolean {
    this.options.log.warn({ client: this.options.clientId, ...notice }, 'webhook deliveries skipped: the stream no longer holds them')
    return true
  }

  close(code: CloseCode, reason: string): void {
    this.abort.abort()
    this.options.onClose(code, reason)
  }

  /** Stop sending (the lease moved, the replica stops); what was not sent is sent again by the next owner. */
  stop(): void {
    this.abort.abort()
  }

  private async drain(topic: string): Promise<void> {
    const queue = this.queues.get(topic)!
    while (queue.length > 0 && !this.abort.signal.aborted) {
      const delivery = queue[0]!
      const target = this.options.target(topic)
      if (target) await this.deliver(target, delivery)
      if (this.abort.signal.aborted) break
      queue.shift()
      this.queued--
      this.options.tracker.sent(delivery)
    }
    this.queues.delete(topic)
  }

  private async deliver(target: WebhookTarget, delivery: Delivery): Promise<void> {
    const { config, guard, registry, log } = this.options
    const url = new URL(target.url)
    let reason = ''
    let attempt = 0
    while (attempt < config.attempts && !this.abort.signal.aborted) {
      if (attempt > 0) {
        await sleep(config.backoffMs * 2 ** (attempt - 1), undefined, { signal: this.abort.signal }).catch(() => {})
        if (this.abort.signal.aborted) return
      }
      attempt++
      const body = renderBody(target.template, {
        Message: Buffer.from(delivery.data).toString('utf8'),
        Topic: delivery.topic,
        ClientID: target.clientId,
        MessageID: delivery.messageId,
        Timestamp: Date.now(),
      }, delivery.data)
      const outcome = await postOnce(guard, url, body, config.timeoutMs)
      if (outcome.ok) {
        await registry.delivered(target).catch((err: unknown) => log.debug({ err }, 'webhook count not stored'))
        return
      }
      reason = outcome.reason
      if (!outcome.retry) break
    }
    if (this.abort.signal.aborted) return
    log.warn({ client: target.clientId, topic: target.topic, messageId: delivery.messageId, attempts: attempt, reason }, 'webhook delivery failed')
    await registry
      .failed({ clientId: target.clientId, topic: target.topic, url: target.url, messageId: delivery.messageId, attempts: attempt, error: reason, at: Date.now() })
      .catch((err: unknown) => log.debug({ err }, 'webhook failure not stored'))
  }
}
