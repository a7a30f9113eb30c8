/** `ProxyStore` on Redis (standalone or Cluster), one Lua script per atomic operation. */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { OptimumError } from '../../common/errors.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import { StoreUnavailableError } from './errors.js'
import { StoreKeys } from './keys.js'
import { StoreScripts, type SubscriptionKeys } from './scripts.js'
import {
  CURSOR_ORIGIN,
  type Arrival,
  type ArrivalResult,
  type BlockingReader,
  type Cursor,
  type ProxyStore,
  type StoreStats,
  type StoredMessage,
  type SubscriptionChange,
  type TopicEvent,
} from './store.js'

export type RedisClient = Redis | Cluster

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

/** Subscription changes kept for replicas that poll them (a few seconds' worth is plenty). */
const CHANGES_MAX_LENGTH = 10_000
const CURSOR_PATTERN = /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/

/** A stream id as a client may send it back (no leading zeros, so ids compare as text of equal length). */
export function isCursor(text: string): boolean {
  return CURSOR_PATTERN.test(text)
}

/**
 * Orders stream ids numerically (`9-0` < `10-0`) without parsing: it runs for
 * every event and every local client, and digit strings without leading zeros
 * order by length, then as text.
 */
export function compareCursors(a: Cursor, b: Cursor): number {
  if (a === b) return 0
  const ai = a.indexOf('-')
  const bi = b.indexOf('-')
  if (ai !== bi) return ai < bi ? -1 : 1
  const am = a.slice(0, ai)
  const bm = b.slice(0, bi)
  if (am !== bm) return am < bm ? -1 : 1
  const as = a.slice(ai + 1)
  const bs = b.slice(bi + 1)
  if (as.length !== bs.length) return as.length < bs.length ? -1 : 1
  return as < bs ? -1 : 1
}

export function connect(url: string, mode: RedisStoreOptions['mode']): RedisClient {
  // Fail a command after a couple of reconnection attempts instead of queueing
  // it for ever; reconnecting itself never stops (capped backoff).
  const options: RedisOptions = {
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
    enableAutoPipelining: true,
  }
  if (mode === 'standalone') return new Redis(url, options)
  const parsed = new URL(url)
  return new Cluster([{ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }], {
    clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1000),
    enableAutoPipelining: true,
    redisOptions: {
      ...options,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  })
}

type RawEntry = [id: string, fields: string[]]

/** A stream entry's fields by name (names sit at even positions; a value may equal a name). */
function fieldsOf(flat: string[]): Map<string, string> {
  const fields = new Map<string, string>()
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!)
  return fields
}

function toEvent([id, flat]: RawEntry): TopicEvent {
  const fields = fieldsOf(flat)
  return { cursor: id, previous: fields.get('p') ?? CURSOR_ORIGIN, messageId: fields.get('m') ?? '', nodes: Number(fields.get('c') ?? 0) }
}

function assertName(what: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new OptimumError('invalid_argument', `${what} is missing`)
}

function assertCursor(cursor: string): void {
  if (!isCursor(cursor)) throw new OptimumError('invalid_argument', `cursor ${JSON.stringify(cursor)} is not a stream id such as 1733090000000-0`)
}

export class RedisProxyStore implements ProxyStore {
  private readonly keys: StoreKeys
  private readonly scripts: StoreScripts
  private readonly readers = new Set<RedisClient>()
  private readonly logger: Logger

  constructor(private readonly client: RedisClient, private readonly options: RedisStoreOptions) {
    this.keys = new StoreKeys(options.prefix)
    this.scripts = new StoreScripts(client)
    this.logger = options.logger ?? silentLogger
    let down = false
    client.on('error', (err: Error) => {
      if (!down) this.logger.warn({ err: err.message }, 'redis connection failed; reconnecting')
      down = true
    })
    client.on('ready', () => {
      if (down) this.logger.info('redis connection restored')
      down = false
    })
  }

  async subscribe(clientId: string, topic: string, threshold: number): Promise<boolean> {
    assertName('client_id', clientId)
    assertName('topic', topic)
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
      throw new OptimumError('invalid_argument', 'threshold must be a number from 0 to 1')
    }
    return this.guard('subscribe', async () => {
      // Cursor first: once the change is logged, a replica may attach the client at once.
      await this.scripts.initCursor(this.keys.cursors(topic), this.keys.topicStream(topic), clientId)
      return this.scripts.subscribe(this.subscriptionKeys(clientId, topic), clientId, topic, String(threshold), CHANGES_MAX_LENGTH)
    })
  }

  async unsubscribe(clientId: string, topic: string): Promise<boolean> {
    assertName('client_id', clientId)
    assertName('topic', topic)
    return this.guard('unsubscribe', async () => {
      const was = await this.scripts.unsubscribe(this.subscriptionKeys(clientId, topic), clientId, topic, CHANGES_MAX_LENGTH)
      await this.client.hdel(this.keys.cursors(topic), clientId)
      return was
    })
  }

  async clientTopics(clientId: string): Promise<Map<string, number>> {
    assertName('client_id', clientId)
    const raw = await this.guard('clientTopics', () => this.client.hgetall(this.keys.clientTopics(clientId)))
    return new Map(Object.entries(raw).map(([topic, threshold]) => [topic, Number(threshold)]))
  }

  async activeTopics(): Promise<string[]> {
    const topics = await this.guard('activeTopics', () => this.client.smembers(this.keys.activeTopics()))
    return topics.sort()
  }

  async subscriptionChanges(after: Cursor, limit = 1000): Promise<{ changes: SubscriptionChange[]; next: Cursor; complete: boolean }> {
    assertCursor(after)
    const key = this.keys.subscriptionChanges()
    return this.guard('subscriptionChanges', async () => {
      const [entries, first, last] = await Promise.all([
        this.client.xrange(key, `(${after}`, '+', 'COUNT', limit) as Promise<RawEntry[]>,
        this.client.xrange(key, '-', '+', 'COUNT', 1) as Promise<RawEntry[]>,
        this.client.xrevrange(key, '+', '-', 'COUNT', 1) as Promise<RawEntry[]>,
      ])
      const fromStart = after === CURSOR_ORIGIN
      // The log lost what we had not read (trimmed past us) or restarted below us (Redis lost its data).
      const trimmed = !fromStart && first[0] !== undefined && compareCursors(first[0][0], after) > 0
      const restarted = !fromStart && (last[0] === undefined || compareCursors(last[0][0], after) < 0)
      const changes = entries.map(([, flat]): SubscriptionChange => {
        const fields = fieldsOf(flat)
        return { clientId: fields.get('c') ?? '', topic: fields.get('t') ?? '', op: fields.get('o') === 'unsubscribe' ? 'unsubscribe' : 'subscribe' }
      })
      const next = entries.at(-1)?.[0] ?? (restarted ? (last[0]?.[0] ?? CURSOR_ORIGIN) : after)
      return { changes, next, complete: !trimmed && !restarted }
    })
  }

  async subscriptionChangesEnd(): Promise<Cursor> {
    const last = await this.guard('subscriptionChangesEnd', () =>
      this.client.xrevrange(this.keys.subscriptionChanges(), '+', '-', 'COUNT', 1) as Promise<RawEntry[]>)
    return last[0]?.[0] ?? CURSOR_ORIGIN
  }

  async nodesHolding(topic: string, messageId: string): Promise<number> {
    const count = await this.guard('nodesHolding', () => this.client.hget(this.keys.message(topic, messageId), 'c'))
    return Number(count ?? 0)
  }

  async recordArrival(arrival: Arrival): Promise<ArrivalResult> {
    assertName('node', arrival.node)
    assertName('message id', arrival.messageId)
    assertName('topic', arrival.topic)
    const data = Buffer.from(arrival.data.buffer, arrival.data.byteOffset, arrival.data.byteLength)
    const result = await this.guard('recordArrival', () => this.scripts.recordArrival(
      this.keys.message(arrival.topic, arrival.messageId), this.keys.topicStream(arrival.topic), {
        node: arrival.node,
        messageId: arrival.messageId,
        data,
        source: arrival.source,
        ttlSeconds: this.options.messageTtlSeconds,
        maxLength: this.options.streamMaxLength,
        maxAgeMs: this.options.streamMaxAgeSeconds * 1000,
      }))
    return { nodes: result.count, appended: result.appended, ...(result.id ? { cursor: result.id } : {}) }
  }

  async readEvents(topic: string, after: Cursor, limit: number): Promise<TopicEvent[]> {
    assertCursor(after)
    const entries = await this.guard('readEvents', () =>
      this.client.xrange(this.keys.topicStream(topic), `(${after}`, '+', 'COUNT', limit) as Promise<RawEntry[]>)
    return entries.map(toEvent)
  }

  async lastCursor(topic: string): Promise<Cursor> {
    const key = this.keys.topicStream(topic)
    return this.guard('lastCursor', async () => {
      const info = await this.client.call('XINFO', 'STREAM', key).catch((err: Error) => {
        if (/no such key/i.test(err.message)) return undefined
        throw err
      }) as unknown[] | undefined
      for (let i = 0; info !== undefined && i + 1 < info.length; i += 2) {
        if (info[i] === 'last-generated-id') return String(info[i + 1])
      }
      return CURSOR_ORIGIN
    })
  }

  async messages(topic: string, messageIds: readonly string[]): Promise<(StoredMessage | undefined)[]> {
    return this.guard('messages', () => Promise.all(messageIds.map(async (id) => {
      const [data, source] = await this.client.hmgetBuffer(this.keys.message(topic, id), 'd', 's')
      return data ? { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), source: source?.toString() ?? '' } : undefined
    })))
  }

  async cursors(clientId: string, topics: readonly string[]): Promise<Map<string, Cursor>> {
    const found = await this.guard('cursors', () => Promise.all(topics.map((t) => this.client.hget(this.keys.cursors(t), clientId))))
    return new Map(topics.flatMap((t, i) => (found[i] ? [[t, found[i]] as [string, Cursor]] : [])))
  }

  async saveCursors(topic: string, cursors: ReadonlyMap<string, Cursor>): Promise<void> {
    if (cursors.size === 0) return
    const pairs: string[] = []
    for (const [clientId, cursor] of cursors) {
      assertCursor(cursor)
      pairs.push(clientId, cursor)
    }
    await this.guard('saveCursors', () => this.scripts.saveCursors(this.keys.cursors(topic), pairs))
  }

  async claimPublish(topic: string, fingerprint: string, ttlSeconds: number): Promise<boolean> {
    const set = await this.guard('claimPublish', () =>
      this.client.set(this.keys.publishFingerprint(topic, fingerprint), '1', 'EX', ttlSeconds, 'NX'))
    return set === 'OK'
  }

  async ping(): Promise<number> {
    const started = performance.now()
    await this.guard('ping', () => this.client.ping())
    return performance.now() - started
  }

  async stats(): Promise<StoreStats> {
    return this.guard('stats', async () => {
      const [clients, topics] = await Promise.all([this.client.scard(this.keys.clients()), this.activeTopics()])
      const perTopic = await Promise.all(topics.map(async (topic) => {
        const [subscribers, streamLength, lastCursor] = await Promise.all([
          this.client.scard(this.keys.topicClients(topic)),
          this.client.xlen(this.keys.topicStream(topic)),
          this.lastCursor(topic),
        ])
        return { topic, subscribers, streamLength, lastCursor }
      }))
      return { clients, topics: perTopic }
    })
  }

  blockingReader(): BlockingReader {
    const connection: RedisClient = this.client instanceof Cluster ? this.client.duplicate() : this.client.duplicate()
    connection.on('error', () => { /* reported by the shared connection; XREAD callers retry */ })
    this.readers.add(connection)
    return {
      readEvents: async (topic, after, limit, blockMs) => {
        assertCursor(after)
        const reply = await this.guard('xread', () => connection.xread('COUNT', limit, 'BLOCK', blockMs, 'STREAMS', this.keys.topicStream(topic), after)) as [string, RawEntry[]][] | null
        return reply?.[0]?.[1].map(toEvent) ?? []
      },
      close: () => {
        this.readers.delete(connection)
        connection.disconnect()
      },
    }
  }

  async close(): Promise<void> {
    for (const reader of this.readers) reader.disconnect()
    this.readers.clear()
    await this.client.quit().catch(() => this.client.disconnect())
  }

  private subscriptionKeys(clientId: string, topic: string): SubscriptionKeys {
    return {
      client: this.keys.clientTopics(clientId),
      topicClients: this.keys.topicClients(topic),
      active: this.keys.activeTopics(),
      clients: this.keys.clients(),
      changes: this.keys.subscriptionChanges(),
    }
  }

  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      if (err instanceof OptimumError) throw err
      throw new StoreUnavailableError(operation, err)
    }
  }
}

/** Connects at once in the background; commands issued meanwhile wait for the connection (a couple of attempts, then StoreUnavailableError). */
export function createRedisStore(options: RedisStoreOptions): RedisProxyStore {
  return new RedisProxyStore(connect(options.url, options.mode), options)
}
