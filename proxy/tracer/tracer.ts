import { readFileSync } from 'node:fs'
import { OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import { TraceType, type TraceRecord } from '../../common/trace-codec.js'
import type { NodeStatus } from '../nodes/node-pool.js'
import type { RedisClient } from '../store/redis-store.js'
import type { Arrival } from '../store/store.js'
import { TracerKeys } from '../store/keys.js'
import { computeSnapshot, type TracedMessage, type TracerSnapshot } from './stats.js'
import { MAX_WINDOW_SECONDS } from './window.js'

/** How often a replica merges what it traced into Redis, and writes which node links it has up. */
const FLUSH_MS = 250
/** Messages a replica keeps counting locally (the newest); older ones are in Redis already. */
const LOCAL_MESSAGES = 5_000
/** Messages merged per flush; the rest wait for the next one. */
const FLUSH_BATCH = 500
/** Messages one window reports at most (the newest). */
const WINDOW_MESSAGES = 1_000
/** A node counts as active while some replica had its link up this recently. */
const ACTIVE_MS = 5_000

const MERGE = readFileSync(new URL('./scripts/merge-message.lua', import.meta.url), 'utf8')

interface Local extends TracedMessage {
  dirty: boolean
}

type Merge = (message: string, index: string, ...args: (string | number)[]) => Promise<unknown>

export interface TracerOptions {
  client: RedisClient
  prefix: string
  log: Logger
  /** The node links of this replica (P2P_NODES). */
  nodes(): NodeStatus[]
}

const REDUNDANT = new Set<number>([TraceType.DUPLICATE_SHARD, TraceType.UNHELPFUL_SHARD, TraceType.UNNECESSARY_SHARD])
const SHARDS = new Set<number>([...REDUNDANT, TraceType.NEW_SHARD])

/**
 * The published tracer's figures, cluster-wide. Every replica reads the trace
 * events of every node (its sidecar links ask for them) and the receipts of
 * the messages (their sizes); it counts them per message and node, and
 * merges its counts into Redis every FLUSH_MS (./scripts/merge-message.lua:
 * first time wins, counts keep the largest). Since every replica hears the
 * same events from the same nodes, the merge is the cluster's figure whatever
 * replica counted it, and a snapshot read from Redis is the same on every
 * replica. It owns its flush loop: `start` and `stop`.
 */
export class ClusterTracer {
  private readonly keys: TracerKeys
  private readonly local = new Map<string, Local>()
  private readonly merge: Merge
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private failing = false

  constructor(private readonly options: TracerOptions) {
    this.keys = new TracerKeys(options.prefix)
    options.client.defineCommand('tracerMergeMessage', { numberOfKeys: 2, lua: MERGE })
    // defineCommand adds a method ioredis cannot type; this cast names it.
    this.merge = (...args) => (options.client as unknown as { tracerMergeMessage: Merge }).tracerMergeMessage(...args)
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), FLUSH_MS)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flushing
  }

  /** One node's trace event, decoded, and the protocol whose trace response carried it. */
  readonly onTrace = (event: TraceRecord, algorithm: 'optimum' | 'gossipsub'): void => {
    if (event.messageId === undefined || event.node === '') return
    const message = this.messageOf(event.messageId, event.timeMs)
    message.algorithm ||= algorithm
    if (event.topic !== undefined) message.topic ||= event.topic
    if (event.type === TraceType.PUBLISH_MESSAGE) {
      message.published = Math.min(message.published ?? Infinity, event.timeMs)
      message.publisher = event.node
    } else if (event.type === TraceType.DELIVER_MESSAGE) {
      if (!message.delivered.has(event.node)) message.delivered.set(event.node, event.timeMs)
    } else if (SHARDS.has(event.type)) {
      message.shards.set(event.node, (message.shards.get(event.node) ?? 0) + 1)
      if (REDUNDANT.has(event.type)) message.redundant.set(event.node, (message.redundant.get(event.node) ?? 0) + 1)
      if (event.coefficients !== undefined && event.coefficients.length > 0) message.k ??= event.coefficients.length
    } else {
      return
    }
    message.dirty = true
  }

  /** A receipt: the message's size. */
  readonly onArrival = (arrival: Arrival): void => {
    const message = this.messageOf(arrival.messageId, Date.now())
    if (message.size !== undefined) return
    message.size = arrival.data.length
    message.topic ||= arrival.topic
    message.dirty = true
  }

  /** The figures of the last `windowSeconds`, from Redis (never before the last reset). */
  async snapshot(windowSeconds: number): Promise<TracerSnapshot> {
    const { client } = this.options
    const now = Date.now()
    const reset = Number((await client.get(this.keys.reset()).catch(() => null)) ?? 0)
    const from = Math.max(now - windowSeconds * 1000, reset)
    let flat: string[]
    let hashes: Record<string, string>[]
    let seen: Record<string, string>
    try {
      flat = await client.zrevrangebyscore(this.keys.index(), '+inf', from, 'WITHSCORES', 'LIMIT', 0, WINDOW_MESSAGES)
      hashes = await Promise.all(flat.filter((_, i) => i % 2 === 0).map((id) => client.hgetall(this.keys.message(id))))
      seen = await client.hgetall(this.keys.nodes())
    } catch (err) {
      throw new OptimumError('unavailable', `tracer figures are unavailable: Redis did not answer (${(err as Error).message})`)
    }
    const messages = hashes.flatMap((hash, i) =>
      Object.keys(hash).length === 0 ? [] : [parseMessage(flat[2 * i]!, Number(flat[2 * i + 1]), hash)])
    messages.reverse() // oldest first
    const addresses = this.options.nodes().map((node) => node.address)
    const active = addresses.filter((address) => now - Number(seen[address] ?? 0) <= ACTIVE_MS).length
    return computeSnapshot(messages, { windowSeconds, nodeCount: addresses.length, activeNodes: active, algorithm: 'unknown' })
  }

  /** Starts every window afresh from now, on every replica. */
  async reset(): Promise<void> {
    try {
      await this.options.client.set(this.keys.reset(), String(Date.now()))
    } catch (err) {
      throw new OptimumError('unavailable', `the tracer cannot be reset: Redis did not answer (${(err as Error).message})`)
    }
  }

  private messageOf(id: string, seenAt: number): Local {
    let message = this.local.get(id)
    if (message === undefined) {
      if (this.local.size >= LOCAL_MESSAGES) this.local.delete(this.local.keys().next().value as string)
      message = {
        id,
        firstSeen: seenAt,
        topic: '',
        algorithm: '',
        delivered: new Map(),
        shards: new Map(),
        redundant: new Map(),
        dirty: false,
      }
      this.local.set(id, message)
    }
    return message
  }

  private flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  private async doFlush(): Promise<void> {
    const { client, log } = this.options
    const now = Date.now()
    const batch = [...this.local.values()].filter((message) => message.dirty).slice(0, FLUSH_BATCH)
    for (const message of batch) message.dirty = false
    try {
      const up = this.options.nodes().filter((node) => node.state === 'up')
      await Promise.all([
        ...batch.map((message) => this.merge(this.keys.message(message.id), this.keys.index(), message.id, message.firstSeen,
          MAX_WINDOW_SECONDS, ...mergeArgs(message))),
        up.length > 0 ? client.hset(this.keys.nodes(), Object.fromEntries(up.map((node) => [node.address, String(now)]))) : undefined,
        client.zremrangebyscore(this.keys.index(), '-inf', now - MAX_WINDOW_SECONDS * 1000),
      ])
      if (this.failing) log.info('tracer figures reach Redis again')
      this.failing = false
    } catch (err) {
      for (const message of batch) message.dirty = true
      if (!this.failing) log.warn({ err: (err as Error).message }, 'tracer cannot write to Redis; retrying')
      this.failing = true
    }
  }
}

function mergeArgs(message: TracedMessage): (string | number)[] {
  const args: (string | number)[] = []
  const set = (field: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') args.push('s', field, value)
  }
  set('t', message.topic)
  set('a', message.algorithm)
  set('pn', message.publisher)
  set('z', message.size)
  set('k', message.k)
  if (message.published !== undefined) args.push('n', 'p', message.published)
  for (const [node, at] of message.delivered) args.push('n', `d:${node}`, at)
  for (const [node, count] of message.shards) args.push('m', `c:${node}`, count)
  for (const [node, count] of message.redundant) args.push('m', `x:${node}`, count)
  return args
}

function parseMessage(id: string, firstSeen: number, hash: Record<string, string>): TracedMessage {
  const message: TracedMessage = {
    id,
    firstSeen,
    topic: hash.t ?? '',
    algorithm: hash.a ?? '',
    delivered: new Map(),
    shards: new Map(),
    redundant: new Map(),
  }
  if (hash.p !== undefined) message.published = Number(hash.p)
  if (hash.pn !== undefined) message.publisher = hash.pn
  if (hash.z !== undefined) message.size = Number(hash.z)
  if (hash.k !== undefined) message.k = Number(hash.k)
  for (const [field, value] of Object.entries(hash)) {
    const colon = field.indexOf(':')
    if (colon < 0) continue
    const node = field.slice(colon + 1)
    const kind = field.slice(0, colon)
    if (kind === 'd') message.delivered.set(node, Number(value))
    else if (kind === 'c') message.shards.set(node, Number(value))
    else if (kind === 'x') message.redundant.set(node, Number(value))
  }
  return message
}
