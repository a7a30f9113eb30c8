import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisServer, redisServerPath } from './support/redis-server.js'
import { getJson, postJson, startCluster, TestWs, topicMeshReady, waitFor, waitForAsync, type TestCluster } from './support/cluster.js'

if (!redisServerPath) console.log('redis-restart.test.ts skipped: redis-server is not installed')

describe.skipIf(!redisServerPath)('Redis restarted under two replicas', () => {
  let redis: RedisServer
  let cluster: TestCluster

  beforeAll(async () => {
    redis = await RedisServer.start()
    cluster = await startCluster('redis-restart', 2, 2, { REDIS_URL: redis.url })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop().catch(() => {})
    await redis?.stop()
  })

  it('the proxies recover on their own: health, publishes and deliveries work again', async () => {
    const [a, b] = cluster.proxies.map((p) => p.ports.http) as [number, number]
    await postJson(a, '/api/v1/subscribe', { client_id: 'survivor', topic: 'restart', threshold: 1.0 })
    await topicMeshReady(cluster.nodes, 'restart')
    const sockets = [new TestWs(b, 'client_id=survivor')]
    await sockets[0]!.opened
    await postJson(a, '/api/v1/publish', { client_id: 'survivor', topic: 'restart', message: 'before' })
    await waitFor('delivery before the restart', () => sockets[0]!.frames.length === 1)

    await redis.kill()
    const down = await getJson(a, '/api/v1/health')
    expect(down.json).toMatchObject({ status: 'unavailable', redis: 'unreachable' })
    const refused = await postJson(a, '/api/v1/publish', { client_id: 'survivor', topic: 'restart', message: 'while down' })
    expect(refused.status).toBe(503)
    expect(refused.json.error).toContain('state store unavailable')
    await redis.restart()

    for (const port of [a, b]) await waitForAsync('health ok again', async () => (await getJson(port, '/api/v1/health')).status === 200)
    const { status, json } = await postJson(a, '/api/v1/publish', { client_id: 'survivor', topic: 'restart', message: 'after' })
    expect(status).toBe(200)
    // The replica may have closed the socket while Redis was away (it says so with a close code): the client comes back.
    const all = () => sockets.flatMap((s) => s.frames)
    await waitForAsync(
      'delivery after the restart',
      async () => {
        if (all().some((f) => f.message_id === json.message_id)) return true
        const last = sockets.at(-1)!
        if (last.ws.readyState === last.ws.CLOSED) {
          const next = new TestWs(b, 'client_id=survivor')
          sockets.push(next)
          await next.opened.catch(() => {})
        }
        return false
      },
      20_000,
    )
    expect(all().map((f) => Buffer.from(f.message, 'base64').toString())).toContain('after')
    for (const s of sockets) s.ws.terminate()
  }, 60_000)
})
