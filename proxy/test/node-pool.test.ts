import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { OptimumError } from '../../common/errors.js'
import { startNetwork, startTestNode, stopAll, waitFor } from '../../node/test/support/network.js'
import type { RunningNode } from '../../node/node.js'
import { backoffDelay } from '../../common/backoff.js'
import { NodePool } from '../nodes/node-pool.js'
import type { Arrival } from '../store/store.js'
import { freePort } from './support/redis-server.js'

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, jittered within the upper half', () => {
    const policy = { initialMs: 100, maxMs: 1_000 }
    expect([0, 1, 2, 3, 4, 10, 50].map((a) => backoffDelay(policy, a, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000, 1000])
    expect(backoffDelay(policy, 3, () => 0)).toBe(400)
  })
})

describe('NodePool against real gossipsub nodes', () => {
  let nodes: RunningNode[]
  let restartable: RunningNode
  let restartPort: number
  let pool: NodePool
  const arrivals: Arrival[] = []

  beforeAll(async () => {
    nodes = await startNetwork(2, 'gossipsub')
    restartPort = await freePort()
    restartable = await startTestNode('gossipsub', { SIDECAR_PORT: String(restartPort), BOOTSTRAP_PEERS: nodes[0]!.multiaddrs()[0]! })
    pool = new NodePool({
      nodes: [...nodes.map((n) => ({ host: '127.0.0.1', port: n.ports.sidecar })), { host: '127.0.0.1', port: restartPort }],
      log: silentLogger,
      publishTimeoutMs: 2_000,
      backoff: { initialMs: 50, maxMs: 200 },
      onDelivery: async (arrival) => {
        arrivals.push(arrival)
      },
    })
    pool.start()
  })
  afterAll(async () => {
    pool.stop()
    await stopAll([...nodes, restartable])
  })

  it('connects to every node', async () => {
    await waitFor('3 links up', () => pool.status().every((s) => s.state === 'up'))
    expect(pool.size).toBe(3)
  })

  it('subscribes every node to the wanted topics and records each node’s delivery under the node’s address', async () => {
    pool.setTopics(['pool-topic'])
    await waitFor('mesh', () => [...nodes, restartable].every((n) => n.engine.meshPeers('pool-topic').length >= 1))
    const result = await pool.publish('pool-topic', Buffer.from('hello'), 'pool-msg-1')
    expect(result).toMatchObject({ messageId: 'pool-msg-1', fresh: true })
    await waitFor('3 arrivals', () => arrivals.filter((a) => a.messageId === 'pool-msg-1').length === 3)
    const got = arrivals.filter((a) => a.messageId === 'pool-msg-1')
    expect(new Set(got.map((a) => a.node)).size).toBe(3)
    expect(got.every((a) => a.topic === 'pool-topic' && Buffer.from(a.data).toString() === 'hello')).toBe(true)
  })

  it('answers a repeated message id as not fresh (the network already carries it)', async () => {
    const again = await pool.publish('pool-topic', Buffer.from('hello'), 'pool-msg-1')
    expect(again.fresh).toBe(false)
  })

  it('refuses an invalid publish without trying the other nodes', async () => {
    await expect(pool.publish('pool-topic', Buffer.from('x'), 'has space')).rejects.toMatchObject({ code: 'invalid_argument' })
  })

  it('stops delivering a topic that is no longer wanted', async () => {
    pool.setTopics(['other-topic'])
    // the unsubscribe reaches each node before this publish on the same stream order is irrelevant: the link filters too
    await pool.publish('pool-topic', Buffer.from('late'), 'pool-msg-2')
    pool.setTopics(['pool-topic', 'other-topic'])
    const marker = await pool.publish('pool-topic', Buffer.from('marker'), 'pool-msg-3')
    await waitFor('marker arrivals', () => arrivals.some((a) => a.messageId === marker.messageId))
    expect(arrivals.some((a) => a.messageId === 'pool-msg-2')).toBe(false)
  })

  it('fails over when a node goes down, and reconnects and resubscribes when it is back', async () => {
    await restartable.stop()
    await waitFor('link down', () => pool.status()[2]!.state !== 'up')
    for (let i = 0; i < 6; i++) await pool.publish('pool-topic', Buffer.from(`while down ${i}`), `down-${i}`)
    restartable = await startTestNode('gossipsub', { SIDECAR_PORT: String(restartPort), BOOTSTRAP_PEERS: nodes[0]!.multiaddrs()[0]! })
    await waitFor('link up again', () => pool.status()[2]!.state === 'up')
    await waitFor('mesh again', () => restartable.engine.meshPeers('pool-topic').length >= 1, 15_000)
    await pool.publish('pool-topic', Buffer.from('after'), 'after-restart')
    const restarted = `127.0.0.1:${restartPort}`
    await waitFor('delivery from the restarted node', () => arrivals.some((a) => a.messageId === 'after-restart' && a.node === restarted))
  })

  it('says no P2P node is reachable when every node is down', async () => {
    const lonely = new NodePool({ nodes: [{ host: '127.0.0.1', port: await freePort() }], log: silentLogger, publishTimeoutMs: 500, onDelivery: async () => {} })
    lonely.start()
    try {
      const err = await lonely.publish('t', Buffer.from('x'), 'id').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(OptimumError)
      expect(err).toMatchObject({ code: 'unavailable', message: expect.stringContaining('no P2P node reachable') })
    } finally {
      lonely.stop()
    }
  })
})
