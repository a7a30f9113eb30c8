/** A store under a prefix of the test's own on a real Redis, and its removal afterwards. */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { createRedisStore, type RedisProxyStore, type RedisStoreOptions } from '../../store/redis-store.js'

export const LOCAL_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export function testPrefix(name: string): string {
  return `test:${name}:${randomUUID().slice(0, 8)}:`
}

export function openStore(options: Partial<RedisStoreOptions> & { prefix: string }): RedisProxyStore {
  return createRedisStore({
    url: LOCAL_REDIS,
    mode: 'standalone',
    messageTtlSeconds: 600,
    streamMaxLength: 10_000,
    streamMaxAgeSeconds: 600,
    ...options,
  })
}

/** Deletes every key under `prefix`. */
export async function removePrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await client.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
}
