/**
 * A 3-master Redis Cluster from `redis-server` on free ports in a temp dir,
 * joined with `redis-cli --cluster create`, torn down after. Tests skip (one
 * line) where redis-server or redis-cli is missing: `clusterSkipReason`.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { RedisServer, redisCliPath, redisServerPath, waitFor } from './redis-server.js'

const run = promisify(execFile)

export const clusterSkipReason = !redisServerPath || !redisCliPath
  ? 'redis-server/redis-cli not installed: Redis Cluster test skipped'
  : undefined

export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const servers: RedisServer[] = []
    try {
      for (let i = 0; i < masters; i++) {
        servers.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--appendonly', 'no']))
      }
      await run(redisCliPath!, ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'])
      const cluster = new RedisCluster(servers)
      await cluster.waitReady()
      return cluster
    } catch (err) {
      await Promise.all(servers.map((s) => s.stop()))
      throw err
    }
  }

  /** Any one node: what REDIS_URL names in cluster mode. */
  get url(): string {
    return this.servers[0]!.url
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()))
  }

  private async waitReady(): Promise<void> {
    for (const server of this.servers) {
      await waitFor(`cluster state ok on ${server.port}`, async () => {
        const client = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 0 })
        client.on('error', () => {})
        try {
          const info = await client.cluster('INFO')
          return /cluster_state:ok/.test(info) ? true : undefined
        } finally {
          client.disconnect()
        }
      }, 20_000)
    }
  }
}
