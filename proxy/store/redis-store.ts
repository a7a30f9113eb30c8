/** `ProxyStore` on Redis (standalone or Cluster), one Lua script per atomic operation. */
import type { Cluster, Redis } from 'ioredis'
import type { Logger } from '../../common/logger.js'
import type { ProxyStore } from './store.js'

export interface RedisStoreOptions {
  /** REDIS_URL; for a Cluster, any one of its nodes. */
  url: string
  /** REDIS_MODE */
  mode: 'standalone' | 'cluster'
  /** REDIS_PREFIX: every key starts with it. */
  prefix: string
  /** PROXY_MESSAGE_TTL: seconds a message body and its receipts are kept. */
  messageTtlSeconds: number
  /** PROXY_STREAM_MAX_LEN: a topic stream keeps about this many events. */
  streamMaxLength: number
  /** PROXY_STREAM_MAX_AGE: …and drops events older than this many seconds. */
  streamMaxAgeSeconds: number
  logger?: Logger
}

/** Connects lazily; the first command waits for the connection (and fails after ioredis's retries with StoreUnavailableError). */
export function createRedisStore(options: RedisStoreOptions): ProxyStore {
  void options
  throw new Error('not implemented yet')
}

export type RedisClient = Redis | Cluster
