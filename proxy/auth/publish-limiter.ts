import { readFileSync } from 'node:fs'
import { OptimumError } from '../../common/errors.js'
import type { RedisClient } from '../store/redis-store.js'
import type { ClientLimits } from '../../common/auth/claims.js'
import { LimitExceededError, type LimitName } from './errors.js'
import { AuthKeys } from '../store/keys.js'

const ADMIT_PUBLISH = readFileSync(new URL('./scripts/admit-publish.lua', import.meta.url), 'utf8')
const SECOND = 1000
const HOUR = 3_600_000
const DAY = 86_400_000
/** Counters outlive their window a little, for replicas whose clocks disagree slightly. */
const TTL_MARGIN_MS = 2_000

type AdmitCommand = { admitPublish(...args: Array<string | number>): Promise<number> }

/**
 * The per-client limits of the tokens, counted in Redis so that they hold
 * across every replica: one atomic script checks and counts a publish against
 * the client's second, hour and UTC-day windows (fixed windows of the
 * replica's clock). A refusal is a LimitExceededError naming the limit, with
 * the seconds until its window ends.
 */
export class PublishLimiter {
  private readonly keys: AuthKeys
  private readonly redis: AdmitCommand

  constructor(client: RedisClient, prefix: string) {
    this.keys = new AuthKeys(prefix)
    client.defineCommand('admitPublish', { numberOfKeys: 3, lua: ADMIT_PUBLISH })
    // defineCommand adds a method ioredis cannot type: this cast is where it is named.
    this.redis = client as unknown as AdmitCommand
  }

  /** Size first (no Redis needed), then the counted limits. */
  async admit(clientId: string, limits: ClientLimits, bytes: number, now = Date.now()): Promise<void> {
    if (bytes > limits.maxMessageSize) {
      throw new LimitExceededError('max_message_size', `message is ${bytes} bytes; max_message_size of client ${clientId} is ${limits.maxMessageSize} bytes`)
    }
    const windows = [SECOND, HOUR, DAY].map((size) => ({ index: Math.floor(now / size), left: size - (now % size) }))
    const [second, hour, day] = windows as [(typeof windows)[0], (typeof windows)[0], (typeof windows)[0]]
    let refused: number
    try {
      refused = await this.redis.admitPublish(
        this.keys.publishesInSecond(clientId, second.index),
        this.keys.publishesInHour(clientId, hour.index),
        this.keys.bytesOnDay(clientId, day.index),
        limits.publishPerSecond,
        limits.publishPerHour,
        limits.dailyQuota,
        bytes,
        second.left + TTL_MARGIN_MS,
        hour.left + TTL_MARGIN_MS,
        day.left + TTL_MARGIN_MS,
      )
    } catch (err) {
      throw new OptimumError('unavailable', `cannot check publish limits: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (refused === 0) return
    const [limit, value, window, what]: [LimitName, number, { left: number }, string] =
      refused === 1 ? ['max_publish_per_sec', limits.publishPerSecond, second, 'publishes per second']
      : refused === 2 ? ['max_publish_per_hour', limits.publishPerHour, hour, 'publishes per hour']
      : ['daily_quota', limits.dailyQuota, day, 'bytes per UTC day']
    const retryAfter = Math.max(1, Math.ceil(window.left / 1000))
    throw new LimitExceededError(limit, `rate limit exceeded: ${limit} of client ${clientId} is ${value} ${what}; retry in ${retryAfter} s`, retryAfter)
  }
}
