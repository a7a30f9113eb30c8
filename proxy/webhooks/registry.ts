import type { RedisClient } from '../store/redis-store.js'
import { WebhookKeys } from '../store/keys.js'

/** Where one subscription's deliveries go. */
export interface WebhookTarget {
  clientId: string
  topic: string
  url: string
  /** mump2p-cli's --webhook-schema; absent = the default JSON body. */
  template?: string
}

export interface WebhookFailure {
  clientId: string
  topic: string
  url: string
  messageId: string
  attempts: number
  error: string
  /** Unix ms. */
  at: number
}

export interface WebhookStats {
  subscriptions: number
  delivered: number
  failed: number
  /** The latest failures, newest first. */
  recentFailures: WebhookFailure[]
}

const RECENT_FAILURES = 100
const RENEW_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`
const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

type LeaseCommands = {
  renewWebhookLease(key: string, owner: string, ttlMs: number): Promise<number>
  releaseWebhookLease(key: string, owner: string): Promise<number>
}

/**
 * Webhook state in Redis, shared by every replica: the targets per
 * subscription, which replica delivers each client's (a lease), delivery
 * counts and the latest failures for /api/v1/state.
 */
export class WebhookRegistry {
  private readonly keys: WebhookKeys
  private readonly leases: LeaseCommands

  constructor(private readonly redis: RedisClient, prefix: string) {
    this.keys = new WebhookKeys(prefix)
    redis.defineCommand('renewWebhookLease', { numberOfKeys: 1, lua: RENEW_LEASE })
    redis.defineCommand('releaseWebhookLease', { numberOfKeys: 1, lua: RELEASE_LEASE })
    // defineCommand adds methods ioredis cannot type: this cast is where they are named.
    this.leases = redis as unknown as LeaseCommands
  }

  async set(target: WebhookTarget): Promise<void> {
    await this.redis.hset(this.keys.targets(), this.keys.field(target.clientId, target.topic), JSON.stringify(target))
  }

  /** True when there was one. */
  async remove(clientId: string, topic: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.targets(), this.keys.field(clientId, topic))) > 0
  }

  async all(): Promise<WebhookTarget[]> {
    const raw = await this.redis.hvals(this.keys.targets())
    return raw.map((text) => JSON.parse(text) as WebhookTarget)
  }

  /** Take the lease of `clientId` for `owner`, or keep it when `owner` holds it. */
  async holdLease(clientId: string, owner: string, ttlMs: number): Promise<boolean> {
    const key = this.keys.lease(clientId)
    if ((await this.leases.renewWebhookLease(key, owner, ttlMs)) === 1) return true
    return (await this.redis.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK'
  }

  async releaseLease(clientId: string, owner: string): Promise<void> {
    await this.leases.releaseWebhookLease(this.keys.lease(clientId), owner)
  }

  async delivered(target: WebhookTarget): Promise<void> {
    await this.redis.hincrby(this.keys.counts(), `${this.keys.field(target.clientId, target.topic)}:delivered`, 1)
  }

  async failed(failure: WebhookFailure): Promise<void> {
    await this.redis.hincrby(this.keys.counts(), `${this.keys.field(failure.clientId, failure.topic)}:failed`, 1)
    await this.redis.lpush(this.keys.failures(), JSON.stringify(failure))
    await this.redis.ltrim(this.keys.failures(), 0, RECENT_FAILURES - 1)
  }

  async stats(): Promise<WebhookStats> {
    const [subscriptions, counts, failures] = await Promise.all([
      this.redis.hlen(this.keys.targets()),
      this.redis.hgetall(this.keys.counts()),
      this.redis.lrange(this.keys.failures(), 0, RECENT_FAILURES - 1),
    ])
    let delivered = 0
    let failed = 0
    for (const [field, value] of Object.entries(counts)) {
      if (field.endsWith(':delivered')) delivered += Number(value)
      else failed += Number(value)
    }
    return { subscriptions, delivered, failed, recentFailures: failures.map((f) => JSON.parse(f) as WebhookFailure) }
  }
}
