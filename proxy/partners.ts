/**
 * What the proxy adds for partners, built from config in one place: JWT auth
 * with cluster-wide limits (proxy/auth), durable publishes (proxy/queues) and
 * webhooks (proxy/webhooks). startProxy wires it in through `auth`,
 * `durable(pool)`, `startWebhooks(hub)`, `webhooks`, `state()` and `close()`.
 */
import { randomUUID } from 'node:crypto'
import { Cluster } from 'ioredis'
import { Gauge, type Registry } from 'prom-client'
import type { ProxyConfig } from '../common/config/index.js'
import type { Logger } from '../common/logger.js'
import { JwtClientAuth } from './auth/jwt-auth.js'
import { JwtVerifier } from '../common/auth/jwt-verifier.js'
import { verifierOptions } from '../common/auth/provider.js'
import { PublishLimiter } from './auth/publish-limiter.js'
import type { DeliveryHub } from './delivery/hub.js'
import { DurablePublisher } from './queues/durable-publisher.js'
import { PublishQueue, type NodePublisher, type PublishQueueStats } from './queues/publish-queue.js'
import { OPEN_AUTH, type ClientAuth } from './service/auth.js'
import { connect, type RedisClient } from './store/redis-store.js'
import type { ProxyStore } from './store/store.js'
import { WebhookRegistry, type WebhookStats } from './webhooks/registry.js'
import { WebhookRunner } from './webhooks/runner.js'
import { WebhookSubscriptions } from './webhooks/subscriptions.js'
import { WebhookUrlGuard } from './webhooks/url-guard.js'

export interface PartnersState {
  durable_publish: { depth: number; active: number; failed: number; republished: number }
  webhooks: { subscriptions: number; delivered: number; failed: number; delivering: number; recent_failures: WebhookStats['recentFailures'] }
}

/** BullMQ's workers block on their connection: it must queue commands while Redis is away instead of failing them. */
function blockingDuplicate(client: RedisClient): RedisClient {
  if (client instanceof Cluster) return client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null } })
  return client.duplicate({ maxRetriesPerRequest: null })
}

export class Partners {
  readonly auth: ClientAuth
  readonly webhooks: WebhookSubscriptions
  private readonly redis: RedisClient
  private readonly workerRedis: RedisClient
  private readonly registry: WebhookRegistry
  private readonly guard: WebhookUrlGuard
  private queue: PublishQueue | undefined
  private runner: WebhookRunner | undefined

  /** `ownPorts`: the proxy's listening ports once bound (webhooks may not point at them). */
  constructor(
    private readonly config: ProxyConfig,
    private readonly store: Pick<ProxyStore, 'subscribe' | 'unsubscribe' | 'nodesHolding'>,
    private readonly log: Logger,
    ownPorts: () => readonly number[],
  ) {
    this.redis = connect(config.redisUrl, config.redisMode)
    this.redis.on('error', () => {}) // the store's connection reports Redis being down, once
    this.workerRedis = blockingDuplicate(this.redis)
    this.workerRedis.on('error', () => {})
    this.auth = config.enableAuth
      ? new JwtClientAuth(new JwtVerifier(verifierOptions(config)), new PublishLimiter(this.redis, config.redisPrefix))
      : OPEN_AUTH
    this.registry = new WebhookRegistry(this.redis, config.redisPrefix)
    this.guard = new WebhookUrlGuard({ allowPrivate: config.webhooks.allowPrivate, ownPorts })
    this.webhooks = new WebhookSubscriptions(store, this.registry, this.guard)
  }

  /** Publishes through `pool` that survive a node's or this replica's death; starts this replica's queue worker. */
  durable(pool: NodePublisher & { size: number; status(): Array<{ state: string }> }): DurablePublisher {
    const queue = new PublishQueue({
      connection: this.redis,
      workerConnection: this.workerRedis,
      prefix: this.config.redisPrefix,
      publisher: pool,
      arrivals: this.store,
      nodesNeeded: Math.min(2, pool.size),
      nodesUp: () => pool.status().filter((n) => n.state === 'up').length,
      config: this.config.durablePublish,
      log: this.log.child({ part: 'publish-queue' }),
    })
    queue.start()
    this.queue = queue
    return new DurablePublisher(pool, queue, this.config.durablePublish, this.log.child({ part: 'publish' }))
  }

  /** This replica delivers the webhooks of the clients whose lease it holds. */
  startWebhooks(hub: Pick<DeliveryHub, 'attach'>): void {
    this.runner = new WebhookRunner({
      hub,
      registry: this.registry,
      guard: this.guard,
      config: this.config.webhooks,
      log: this.log.child({ part: 'webhooks' }),
      owner: randomUUID(),
    })
    this.runner.start()
  }

  /** Queue depth, retries and webhook outcomes on /metrics (read at scrape time). */
  registerMetrics(registry: Registry): void {
    const gauge = (name: string, help: string, read: () => Promise<number | undefined>) =>
      new Gauge({ name, help, registers: [registry], async collect() {
        const value = await read()
        if (value !== undefined) this.set(value)
      } })
    gauge('optimum_proxy_publish_queue_depth', 'Publishes waiting in the durable queue for their confirmation or next attempt (cluster-wide)',
      async () => (await this.queueStats())?.depth)
    gauge('optimum_proxy_publish_queue_failed', 'Queued publishes given up after PROXY_PUBLISH_ATTEMPTS (cluster-wide, kept a day)',
      async () => (await this.queueStats())?.failed)
    gauge('optimum_proxy_publish_republished', 'Publishes this replica sent again because no node had them',
      async () => (await this.queueStats())?.republished)
    gauge('optimum_proxy_webhook_failures', 'Webhook deliveries given up (cluster-wide)',
      async () => (await this.registry.stats().catch(() => undefined))?.failed)
  }

  async state(): Promise<PartnersState> {
    const [queue, webhooks] = await Promise.all([this.queueStats(), this.registry.stats()])
    return {
      durable_publish: queue ?? { depth: 0, active: 0, failed: 0, republished: 0 },
      webhooks: {
        subscriptions: webhooks.subscriptions,
        delivered: webhooks.delivered,
        failed: webhooks.failed,
        delivering: this.runner?.clients.length ?? 0,
        recent_failures: webhooks.recentFailures.slice(0, 20),
      },
    }
  }

  /** Stops the webhook runner and the queue worker (after their current work), then the connections. */
  async close(): Promise<void> {
    await this.runner?.stop()
    await this.queue?.close()
    this.workerRedis.disconnect()
    this.redis.disconnect()
  }

  private queueStats(): Promise<PublishQueueStats | undefined> {
    return this.queue ? this.queue.stats().catch(() => undefined) : Promise.resolve(undefined)
  }
}
