/**
 * The publish queue against real Redis, with a stand-in for the node layer: a
 * few named nodes that ack, drop or refuse publishes on the test's command,
 * and report which messages they hold (what the store's receipts say in the
 * proxy). The real-network version is proxy/test/durable-publish.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DurablePublishConfig } from '../../common/config/index.js'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import { silentLogger } from '../../common/logger.js'
import type { PublishResult } from '../nodes/node-pool.js'
import { DurablePublisher } from '../queues/durable-publisher.js'
import { PublishQueue, type NodePublisher } from '../queues/publish-queue.js'
import { waitFor } from './support/cluster.js'
import { LOCAL_REDIS as TEST_REDIS_URL, removePrefix } from './support/store.js'
import type { ProxyStore } from '../store/store.js'

/** Nodes in one process: `up` ones ack; a `lossy` one acks and then forgets (it died right after the ack). */
class StandInNetwork implements Pick<ProxyStore, 'nodesHolding'> {
  readonly up = new Set<string>()
  readonly lossy = new Set<string>()
  readonly held = new Map<string, Set<string>>()
  /** Every (node, message) publish that reached a live node and was fresh: what subscribers would see. */
  readonly deliveries: string[] = []
  hang = false

  constructor(readonly names: string[]) {
    for (const n of names) this.up.add(n)
  }

  /** One replica's pool: round robin over the nodes that are up. */
  pool(): NodePublisher {
    let next = 0
    return {
      publish: async (_topic, _data, messageId): Promise<PublishResult> => {
        if (this.hang) return new Promise(() => {})
        const order = this.names.filter((n) => this.up.has(n))
        if (order.length === 0) throw new OptimumError('unavailable', 'no P2P node reachable')
        const node = order[next++ % order.length]!
        if (this.lossy.has(node)) {
          this.up.delete(node)
          return { messageId, fresh: true, node }
        }
        const holders = this.held.get(messageId) ?? new Set()
        const fresh = holders.size === 0
        if (fresh) this.deliveries.push(messageId)
        // The mesh spreads it to every live node.
        for (const n of this.up) holders.add(n)
        this.held.set(messageId, holders)
        return { messageId, fresh, node }
      },
    }
  }

  async nodesHolding(_topic: string, messageId: string): Promise<number> {
    return this.held.get(messageId)?.size ?? 0
  }
}

const root = `test:partners:queue:${randomBytes(4).toString('hex')}:`
/** A queue of its own per test. */
let prefix = root
const config: DurablePublishConfig = { deadlineMs: 300, confirmMs: 300, attempts: 5 }
const open: Array<{ close(): Promise<void> }> = []
const connections: Redis[] = []

function connection(worker = false): Redis {
  const redis = new Redis(TEST_REDIS_URL, worker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1 })
  connections.push(redis)
  return redis
}

function replica(network: StandInNetwork, options: { worker?: boolean; redis?: Redis; nodesUp?: () => number } = {}): { queue: PublishQueue; publisher: DurablePublisher } {
  const pool = network.pool()
  const nodesUp = options.nodesUp ?? (() => network.up.size)
  const queue = new PublishQueue({
    connection: options.redis ?? connection(),
    workerConnection: connection(true),
    prefix,
    publisher: pool,
    arrivals: network,
    nodesNeeded: Math.min(2, network.names.length),
    config,
    log: silentLogger,
    retryBackoffMs: 100,
    nodesUp,
  })
  if (options.worker !== false) queue.start()
  open.push(queue)
  return { queue, publisher: new DurablePublisher(pool, queue, config, silentLogger) }
}

const id = () => randomBytes(16).toString('hex')
const payload = Buffer.from('hello')

beforeEach(() => {
  prefix = `${root}${randomBytes(2).toString('hex')}:`
})

afterEach(async () => {
  for (const q of open.splice(0)) await q.close()
})

afterAll(async () => {
  for (const c of connections) c.disconnect()
  await removePrefix(TEST_REDIS_URL, root)
})

describe('durable publish', () => {
  it('an acked publish is confirmed from the receipts and not sent again', async () => {
    const network = new StandInNetwork(['n1', 'n2', 'n3'])
    const { queue, publisher } = replica(network)
    const messageId = id()
    expect(await publisher.publish('t', payload, messageId)).toMatchObject({ fresh: true, node: 'n1' })
    await expect.poll(async () => (await queue.stats()).depth, { timeout: 10_000 }).toBe(0)
    expect(network.deliveries).toEqual([messageId])
    expect((await queue.stats()).republished).toBe(0)
  })

  it('a node that dies right after its ack: the queue sends it again on another node, delivered once', async () => {
    const network = new StandInNetwork(['n1', 'n2', 'n3'])
    network.lossy.add('n1')
    const a = replica(network)
    const b = replica(network)
    const messageId = id()
    expect(await a.publisher.publish('t', payload, messageId)).toMatchObject({ node: 'n1' })
    expect(network.deliveries).toEqual([])
    await waitFor('the message in the network', () => network.deliveries.length > 0, 10_000)
    await expect.poll(async () => (await a.queue.stats()).depth, { timeout: 10_000 }).toBe(0)
    expect(network.deliveries).toEqual([messageId])
    expect(network.held.get(messageId)).toEqual(new Set(['n2', 'n3']))
    expect((await a.queue.stats()).republished + (await b.queue.stats()).republished).toBe(1)
  })

  it('a replica killed between accepting and forwarding: another replica sends it, once', async () => {
    const network = new StandInNetwork(['n1', 'n2'])
    const dying = replica(network, { worker: false })
    const messageId = id()
    await dying.queue.accept('t', payload, messageId) // accepted: the client was told "published" …
    await dying.queue.close() // … and the replica died before any node saw it
    const survivor = replica(network)
    await waitFor('the message in the network', () => network.deliveries.length > 0, 10_000)
    await expect.poll(async () => (await survivor.queue.stats()).depth, { timeout: 10_000 }).toBe(0)
    expect(network.deliveries).toEqual([messageId])
  })

  it('no node acks within the deadline: answered as queued, sent once a node is up', async () => {
    const network = new StandInNetwork(['n1', 'n2'])
    network.hang = true
    const { queue, publisher } = replica(network)
    const messageId = id()
    expect(await publisher.publish('t', payload, messageId)).toEqual({ messageId, fresh: true, node: 'queued' })
    expect((await queue.stats()).depth + (await queue.stats()).active).toBe(1)
    network.hang = false
    await waitFor('the message in the network', () => network.deliveries.length > 0, 10_000)
    expect(network.deliveries).toEqual([messageId])
  })

  it('no node up at all: still accepted (Redis has it), retried until one is', async () => {
    const network = new StandInNetwork(['n1'])
    network.up.clear()
    const { publisher } = replica(network)
    const messageId = id()
    expect(await publisher.publish('t', payload, messageId)).toMatchObject({ node: 'queued' })
    network.up.add('n1')
    await waitFor('the message in the network', () => network.deliveries.length > 0, 10_000)
    expect(network.deliveries).toEqual([messageId])
  })

  it('a replica that reaches no node leaves due jobs to one that does', async () => {
    const network = new StandInNetwork(['n1', 'n2'])
    const cutOff = replica(network, { nodesUp: () => 0 })
    const messageId = id()
    await cutOff.queue.accept('t', payload, messageId)
    await cutOff.queue.retrySoon(messageId)
    await expect.poll(async () => (await cutOff.queue.stats()).depth, { timeout: 5_000 }).toBe(1) // due, but not for this replica
    replica(network)
    await waitFor('the message in the network', () => network.deliveries.length > 0, 10_000)
    expect(network.deliveries).toEqual([messageId])
    expect((await cutOff.queue.stats()).republished).toBe(0)
  })

  it('the same message id accepted twice is one job', async () => {
    const network = new StandInNetwork(['n1', 'n2'])
    const { queue } = replica(network, { worker: false })
    const messageId = id()
    await queue.accept('t', payload, messageId)
    await queue.accept('t', payload, messageId)
    expect((await queue.stats()).depth).toBe(1)
  })

  it('a refusal of the message itself is final and leaves no job', async () => {
    const network = new StandInNetwork(['n1'])
    const refusing: NodePublisher = { publish: async () => { throw new OptimumError('too_large', 'message too large') } }
    const { queue } = replica(network, { worker: false })
    const publisher = new DurablePublisher(refusing, queue, config, silentLogger)
    await expect(publisher.publish('t', payload, id())).rejects.toMatchObject({ code: 'too_large' })
    expect((await queue.stats()).depth).toBe(0)
  })

  it('Redis down: unavailable (503), never published', async () => {
    const down = new Redis('redis://127.0.0.1:9', { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true })
    down.on('error', () => {})
    connections.push(down)
    const network = new StandInNetwork(['n1'])
    const { publisher } = replica(network, { worker: false, redis: down })
    const err = await publisher.publish('t', payload, id()).catch((e: unknown) => e)
    expect(isOptimumError(err) && err.code).toBe('unavailable')
    expect(network.deliveries).toEqual([])
  })
})
