/**
 * Durable publishes on the real stack: gossipsub nodes, proxy replicas on one
 * Redis prefix, WebSocket subscribers. Each case makes the failure certain
 * instead of racing it: the node that acks is one with no mesh peers (so what
 * it acked can only reach the network through the queue), and the replica
 * that accepts has no reachable node.
 */
import type { ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestNode } from '../../node/test/support/network.js'
import type { RunningNode } from '../../node/node.js'
import { spawnPart, waitUntilHealthy } from '../bench/processes.js'
import type { RunningProxy } from '../proxy.js'
import { getJson, LOCAL_REDIS, postJson, proxyConfig, startCluster, startTestProxy, TestWs, topicMeshReady, waitFor, waitForAsync, type TestCluster } from './support/cluster.js'
import { freePort } from '../../common/free-port.js'
import { RedisServer } from './support/redis-server.js'
import { removePrefix, testPrefix } from './support/store.js'

const FAST = { PROXY_PUBLISH_CONFIRM_MS: '500', PROXY_PUBLISH_DEADLINE_MS: '2000' }

interface QueueState { depth: number; active: number; failed: number; republished: number }

async function queueState(port: number): Promise<QueueState> {
  return (await getJson(port, '/api/v1/state')).json.durable_publish as QueueState
}

async function allNodesUp(port: number, count: number): Promise<void> {
  await waitForAsync(`${count} nodes up`, async () => {
    const nodes = (await getJson(port, '/api/v1/state')).json.nodes as Array<{ state: string }>
    return nodes.filter((n) => n.state === 'up').length === count
  })
}

/** How many frames of `messageId` the socket got. */
const copies = (ws: TestWs, messageId: string) => ws.frames.filter((f) => f.message_id === messageId).length

describe('durable publish on the real stack', () => {
  let cluster: TestCluster
  /** A node in P2P_NODES with no peers: it acks publishes that then go nowhere. */
  let island: RunningNode | undefined
  let proxies: RunningProxy[] = []
  let p2pNodes: string

  beforeAll(async () => {
    cluster = await startCluster('durable', 0, 3)
    island = await startTestNode('gossipsub', { SIDECAR_PORT: String(await freePort()) })
    // First in P2P_NODES: a replica's first publish goes to it.
    p2pNodes = `127.0.0.1:${island.ports.sidecar},${cluster.p2pNodes}`
    for (let i = 0; i < 2; i++) proxies.push(await startTestProxy(proxyConfig(p2pNodes, cluster.prefix, FAST)))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()))
    await island?.stop()
    await cluster.stop()
  })

  it('a node killed right after it acked a publish: the message still arrives, once', async () => {
    const [a, b] = proxies.map((p) => p.ports.http) as [number, number]
    const topic = 'acked-then-dead'
    // 0.5 of 4 nodes: deliverable once 2 nodes hold it, which the island alone never makes.
    await postJson(a, '/api/v1/subscribe', { client_id: 'publisher', topic, threshold: 0.5 })
    await postJson(b, '/api/v1/subscribe', { client_id: 'reader', topic, threshold: 0.5 })
    await topicMeshReady(cluster.nodes, topic)
    await waitFor('the island subscribed', () => island!.view.topics().includes(topic), 15_000)
    await allNodesUp(a, 4)
    const reader = new TestWs(b, 'client_id=reader')
    await reader.opened

    const acked = await postJson(a, '/api/v1/publish', { client_id: 'publisher', topic, message: 'survives its node' })
    expect(acked.json).toMatchObject({ status: 'published' })
    await island!.stop() // dead right after the ack, before the message went anywhere
    island = undefined
    const messageId = acked.json.message_id as string

    await waitFor('the message at the reader', () => copies(reader, messageId) > 0, 30_000)
    const after = await postJson(a, '/api/v1/publish', { client_id: 'publisher', topic, message: 'the next one' })
    await waitFor('the next message', () => copies(reader, after.json.message_id as string) > 0, 30_000)
    expect(copies(reader, messageId)).toBe(1)
    expect(reader.texts()).toEqual(['survives its node', 'the next one'])
    const republished = (await queueState(a)).republished + (await queueState(b)).republished
    expect(republished).toBeGreaterThanOrEqual(1)
    await reader.close()
  }, 90_000)

  it('a replica killed between accepting a publish and forwarding it: the message arrives, once', async () => {
    const survivor = proxies[1]!.ports.http
    const topic = 'accepted-then-dead'
    await postJson(survivor, '/api/v1/subscribe', { client_id: 'reader2', topic, threshold: 0.5 })
    await postJson(survivor, '/api/v1/subscribe', { client_id: 'publisher2', topic, threshold: 0.5 })
    await topicMeshReady(cluster.nodes, topic)
    const reader = new TestWs(survivor, 'client_id=reader2')
    await reader.opened

    // The victim reaches no node: whatever it accepts is in Redis only.
    const port = await freePort()
    const victim: ChildProcess = spawnPart('proxy/main.ts', {
      P2P_NODES: `127.0.0.1:${await freePort()}`,
      PROXY_PORT: String(port),
      PROXY_GRPC_PORT: String(await freePort()),
      LISTEN_HOST: '127.0.0.1',
      REDIS_URL: LOCAL_REDIS,
      REDIS_PREFIX: cluster.prefix,
      LOG_LEVEL: 'error',
      ...FAST,
    })
    try {
      await waitUntilHealthy(victim, `http://127.0.0.1:${port}/api/v1/version`, 30_000)
      const accepted = await postJson(port, '/api/v1/publish', { client_id: 'publisher2', topic, message: 'outlives its replica' })
      expect(accepted.json).toMatchObject({ status: 'published' })
      victim.kill('SIGKILL')
      const messageId = accepted.json.message_id as string
      await waitFor('the message at the reader', () => copies(reader, messageId) > 0, 45_000)
      const after = await postJson(survivor, '/api/v1/publish', { client_id: 'publisher2', topic, message: 'the next one' })
      await waitFor('the next message', () => copies(reader, after.json.message_id as string) > 0, 30_000)
      expect(copies(reader, messageId)).toBe(1)
    } finally {
      victim.kill('SIGKILL')
      await reader.close()
    }
  }, 90_000)

  it('Redis down: publish answers 503 and nothing claims "published"', async () => {
    const redis = await RedisServer.start()
    const prefix = testPrefix('durable-redis-down')
    const proxy = await startTestProxy(proxyConfig(cluster.p2pNodes, prefix, { REDIS_URL: redis.url, ...FAST }))
    try {
      const port = proxy.ports.http
      await postJson(port, '/api/v1/subscribe', { client_id: 'c', topic: 'redis-down', threshold: 0.5 })
      await allNodesUp(port, 3)
      await redis.kill()
      for (let i = 0; i < 3; i++) {
        const { status, json } = await postJson(port, '/api/v1/publish', { client_id: 'c', topic: 'redis-down', message: `m${i}` })
        expect(status).toBe(503)
        expect(json.status).toBeUndefined()
        expect(String(json.error)).toMatch(/unavailable|Redis/i)
      }
    } finally {
      await proxy.stop()
      await redis.stop()
      await removePrefix(LOCAL_REDIS, prefix).catch(() => {})
    }
  }, 60_000)
})
