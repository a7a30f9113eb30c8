/** A store under a prefix of the test's own on a real Redis, and its removal afterwards. */
import { randomUUID } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
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

/** Deletes every key under `prefix` (on every master of a Cluster). */
export async function removePrefix(url: string, prefix: string, mode: 'standalone' | 'cluster' = 'standalone'): Promise<void> {
  const roots = mode === 'cluster' ? await clusterMasters(url) : [new Redis(url)]
  for (const client of roots) {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      for (const key of keys) await client.del(key)
      cursor = next
    } while (cursor !== '0')
    client.disconnect()
  }
}

async function clusterMasters(url: string): Promise<Redis[]> {
  const { hostname, port } = new URL(url)
  const cluster = new Cluster([{ host: hostname, port: Number(port) }])
  await new Promise<void>((resolve) => cluster.once('ready', () => resolve()))
  const masters = cluster.nodes('master').map((n) => new Redis({ host: n.options.host ?? '127.0.0.1', port: n.options.port ?? 6379 }))
  cluster.disconnect()
  return masters
}
