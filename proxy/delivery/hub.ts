/**
 * Fan-out of the per-topic event streams to the clients connected to this
 * replica. One tail (one `XREAD BLOCK` loop) per topic with local clients,
 * shared by all of them, started with the first and stopped with the last.
 * Each (client, topic) keeps its own position, so a client first replays what
 * became deliverable while it was away and then continues live, without skip
 * or duplicate. See ./README.md.
 */
import { OptimumError } from '../../common/errors.js'
import { silentLogger, type Logger } from '../../common/logger.js'
import { isCursor } from '../store/redis-store.js'
import type { Arrival, ArrivalResult, Cursor, ProxyStore, SubscriptionChange } from '../store/store.js'
import type { SubscriptionWatch } from '../store/watch.js'
import { HubAttachment, type AttachmentHost } from './attachment.js'
import { ClientTopic } from './client-topic.js'
import { CursorWriter } from './cursor-writer.js'
import { nodesNeeded } from './threshold.js'
import { TopicTail } from './topic-tail.js'
import type { AttachOptions, Attachment, DeliverySink } from './types.js'

export interface DeliveryHubOptions {
  store: ProxyStore
  /** N: the number of nodes in P2P_NODES, for `ceil(threshold × N)`. */
  nodeCount: number
  /**
   * Follows subscription changes made on any replica, so an attached client
   * starts (or stops) receiving a topic it subscribes to while connected.
   * Without one, a connection serves the topics it had when it attached.
   */
  watch?: SubscriptionWatch
  logger?: Logger
  /** How often reached cursors are written to Redis (ms); default 100. */
  cursorFlushMs?: number
  /** Events read per XREAD/XRANGE call; default 256. */
  batchSize?: number
  /** How long one XREAD blocks (ms); default 1000. */
  blockMs?: number
  /** Bytes of message bodies cached per topic; default 16 MiB. */
  cacheBytes?: number
  /**
   * Deliveries a connection may have pushed without confirming them (`sent`)
   * before it is closed as a slow consumer: bounds memory whatever the sink
   * does. Confirmations arrive asynchronously, so keep it well above
   * `batchSize`; default 10,000.
   */
  maxUnconfirmed?: number
}

export interface HubStats {
  /** Attachments on this replica. */
  attachments: number
  /** Topics tailed by this replica. */
  tails: string[]
}

export class DeliveryHub implements AttachmentHost {
  private readonly store: ProxyStore
  private readonly logger: Logger
  private readonly cursors: CursorWriter
  private readonly tails = new Map<string, TopicTail>()
  private readonly byClient = new Map<string, Set<HubAttachment>>()
  private readonly batchSize: number
  private readonly unwatch: () => void
  private closed = false

  constructor(private readonly options: DeliveryHubOptions) {
    this.store = options.store
    this.logger = (options.logger ?? silentLogger).child({ part: 'delivery' })
    this.batchSize = options.batchSize ?? 256
    this.cursors = new CursorWriter(this.store, options.cursorFlushMs ?? 100, this.logger)
    const onClients = (changes: SubscriptionChange[]) => {
      for (const clientId of new Set(changes.map((c) => c.clientId))) this.refreshClient(clientId)
    }
    const onResync = () => {
      for (const clientId of this.byClient.keys()) this.refreshClient(clientId)
    }
    options.watch?.on('clients', onClients)
    options.watch?.on('resync', onResync)
    this.unwatch = () => {
      options.watch?.off('clients', onClients)
      options.watch?.off('resync', onResync)
    }
  }

  /**
   * Attach a connection of `clientId`. Resolves once replay has been started;
   * deliveries follow through `sink`, never before this resolves (so the sink
   * can call `attachment.sent`). Rejects with OptimumError
   * `invalid_argument` for a malformed `since`, `unavailable` when Redis is down.
   *
   * One client_id connected twice (on this replica or another): both
   * connections receive everything, each from its own position; the stored
   * cursor only moves forward, so a later reconnect resumes after what at
   * least one of them was sent.
   */
  async attach(clientId: string, sink: DeliverySink, options: AttachOptions = {}): Promise<Attachment> {
    if (this.closed) throw new OptimumError('unavailable', 'this proxy is shutting down')
    if (options.since !== undefined && !isCursor(options.since)) {
      throw new OptimumError('invalid_argument', `since must be a cursor such as 1733090000000-0, not ${JSON.stringify(options.since.slice(0, 64))}`)
    }
    const topics = await this.store.clientTopics(clientId)
    const stored = options.since === undefined ? await this.store.cursors(clientId, [...topics.keys()]) : new Map<string, Cursor>()
    const starts = await Promise.all([...topics].map(async ([topic, threshold]) =>
      ({ topic, threshold, cursor: options.since ?? stored.get(topic) ?? (await this.store.lastCursor(topic)) })))
    if (this.closed) throw new OptimumError('unavailable', 'this proxy is shutting down')
    // From here on synchronous: nothing reaches the sink before the caller holds the attachment.
    const attachment = new HubAttachment(clientId, sink, this, this.logger, this.options.maxUnconfirmed ?? 10_000)
    const clients = this.byClient.get(clientId) ?? new Set()
    clients.add(attachment)
    this.byClient.set(clientId, clients)
    for (const { topic, threshold, cursor } of starts) this.startTopic(attachment, topic, threshold, cursor)
    this.logger.debug({ client: clientId, topics: topics.size, since: options.since }, 'client attached')
    return attachment
  }

  stats(): HubStats {
    let attachments = 0
    for (const set of this.byClient.values()) attachments += set.size
    return { attachments, tails: [...this.tails.keys()].sort() }
  }

  /** Close every attachment with `shutdown`, store cursors and stop the tails. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.unwatch()
    const all = [...this.byClient.values()].flatMap((set) => [...set])
    for (const attachment of all) attachment.close('shutdown', 'the proxy is shutting down; reconnect to resume')
    await Promise.all(all.map((a) => a.detach()))
    await this.cursors.flush()
    this.cursors.close()
    await Promise.all([...this.tails.values()].map((t) => t.stop()))
    this.tails.clear()
  }

  /**
   * A node delivered this message to this replica and the store says that
   * node is the only one holding it: the stored body is these very bytes
   * (the first node's), so this replica's clients get it without a read.
   */
  arrived(arrival: Arrival, result: ArrivalResult): void {
    if (result.nodes !== 1) return
    this.tails.get(arrival.topic)?.prime(arrival.messageId, { data: arrival.data.slice(), source: arrival.source })
  }

  cursorChanged(topic: ClientTopic): void {
    this.cursors.mark(topic)
  }

  async release(attachment: HubAttachment): Promise<void> {
    const clients = this.byClient.get(attachment.clientId)
    clients?.delete(attachment)
    if (clients?.size === 0) this.byClient.delete(attachment.clientId)
    const topics = [...attachment.topics.values()]
    for (const topic of topics) this.stopTopic(topic)
    // Let send confirmations already on their way land first: fewer repeats on reconnect.
    await new Promise((resolve) => setImmediate(resolve))
    for (const topic of topics) this.cursors.mark(topic)
    await this.cursors.flush()
    if (!this.byClient.has(attachment.clientId)) for (const t of topics) this.cursors.forget(attachment.clientId, t.topic)
    this.logger.debug({ client: attachment.clientId }, 'client detached')
  }

  private startTopic(attachment: HubAttachment, topic: string, threshold: number, cursor: Cursor): void {
    // attach and a subscription change may race to start the same topic.
    if (attachment.topics.has(topic) || attachment.signal.aborted) return
    let tail = this.tails.get(topic)
    if (!tail) {
      tail = new TopicTail(topic, this.store, {
        batchSize: this.batchSize,
        blockMs: this.options.blockMs ?? 1000,
        cacheBytes: this.options.cacheBytes ?? 16 * 1024 * 1024,
        logger: this.logger,
      })
      this.tails.set(topic, tail)
      this.logger.debug({ topic }, 'tailing topic')
    }
    const clientTopic = new ClientTopic(topic, nodesNeeded(threshold, this.options.nodeCount), cursor, attachment, tail, this.store, this.batchSize)
    attachment.topics.set(topic, clientTopic)
    clientTopic.start()
  }

  /** Stops one ClientTopic; it stays in `attachment.topics` so late send confirmations still count. */
  private stopTopic(clientTopic: ClientTopic): void {
    clientTopic.stop()
    const tail = this.tails.get(clientTopic.topic)
    if (tail && tail.size === 0) {
      this.tails.delete(clientTopic.topic)
      void tail.stop()
      this.logger.debug({ topic: clientTopic.topic }, 'stopped tailing topic')
    }
  }

  /** Bring a client's attachments in line with its subscriptions in Redis. */
  private refreshClient(clientId: string): void {
    if (!this.byClient.has(clientId)) return
    void (async () => {
      let topics: Map<string, number>
      try {
        topics = await this.store.clientTopics(clientId)
        for (const attachment of this.byClient.get(clientId) ?? []) {
          const added = [...topics.keys()].filter((t) => !attachment.topics.has(t))
          const cursors = added.length > 0 ? await this.store.cursors(clientId, added) : new Map<string, Cursor>()
          if (attachment.signal.aborted) continue
          for (const [topic, clientTopic] of attachment.topics) {
            const threshold = topics.get(topic)
            if (threshold === undefined) {
              // Unsubscribed: its cursor was deleted with the subscription and must stay so.
              clientTopic.dropped = true
              this.stopTopic(clientTopic)
              attachment.topics.delete(topic)
            } else {
              clientTopic.need = nodesNeeded(threshold, this.options.nodeCount)
            }
          }
          for (const topic of added) {
            const cursor = cursors.get(topic) ?? (await this.store.lastCursor(topic))
            this.startTopic(attachment, topic, topics.get(topic)!, cursor)
          }
        }
      } catch (err) {
        this.logger.warn({ client: clientId, err: (err as Error).message }, 'following a subscription change failed')
      }
    })()
  }
}
