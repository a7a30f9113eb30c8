import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnPart, waitUntilHealthy } from '../bench/processes.js'
import { freePort } from './support/redis-server.js'
import { postJson, startCluster, LOCAL_REDIS, TestWs, topicMeshReady, waitFor, type TestCluster } from './support/cluster.js'

/** A replica as its own process (`npm run proxy`), so that it can be killed without a chance to clean up. */
async function spawnReplica(cluster: TestCluster): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort()
  const child = spawnPart('proxy/main.ts', {
    P2P_NODES: cluster.p2pNodes,
    PROXY_PORT: String(port),
    PROXY_GRPC_PORT: String(await freePort()),
    LISTEN_HOST: '127.0.0.1',
    REDIS_URL: LOCAL_REDIS,
    REDIS_PREFIX: cluster.prefix,
    LOG_LEVEL: 'warn',
  })
  await waitUntilHealthy(child, `http://127.0.0.1:${port}/api/v1/health`, 30_000)
  return { child, port }
}

describe('a replica killed mid-stream', () => {
  let cluster: TestCluster
  let victim: { child: ChildProcess; port: number }

  beforeAll(async () => {
    cluster = await startCluster('crash', 1)
    victim = await spawnReplica(cluster)
  }, 60_000)
  afterAll(async () => {
    victim.child.kill('SIGKILL')
    await cluster.stop()
  })

  it('loses nothing for a client that reconnects to the other replica', async () => {
    const survivor = cluster.proxies[0]!.ports.http
    const topic = 'crash'
    await postJson(survivor, '/api/v1/subscribe', { client_id: 'steady', topic, threshold: 0.5 })
    await topicMeshReady(cluster.nodes, topic)
    const first = new TestWs(victim.port, 'client_id=steady')
    await first.opened

    const published: string[] = []
    let publishing = true
    const publisher = (async () => {
      for (let i = 0; publishing || i < 40; i++) {
        const { json } = await postJson(survivor, '/api/v1/publish', { client_id: 'steady', topic, message: `m${i}` })
        published.push(json.message_id as string)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })()
    await waitFor('deliveries before the crash', () => first.frames.length >= 20, 20_000)
    victim.child.kill('SIGKILL')
    const closed = await first.closed
    expect(closed.code).toBe(1006) // abnormal: the process is gone

    const second = new TestWs(survivor, 'client_id=steady')
    await second.opened
    publishing = false
    await publisher
    const got = () => new Set([...first.frames, ...second.frames].map((f) => f.message_id))
    await waitFor('every message', () => published.every((id) => got().has(id)), 20_000)
    // What the dead replica had sent but not yet recorded as sent may come again: ids tell them apart.
    const secondIds = second.frames.map((f) => f.message_id)
    expect(new Set(secondIds).size).toBe(secondIds.length)
    await second.close()
  }, 60_000)
})
