/**
 * Follows subscription changes of the whole cluster by polling the store's
 * change log, so node connections subscribe on the nodes (and the delivery
 * hub follows attached clients) within a fraction of a second of a change on
 * any replica. One owner starts and stops the poll loop; Redis outages are
 * retried, and a lost stretch of the log (trimmed, Redis restarted empty)
 * becomes a `resync`.
 */
import { EventEmitter } from 'node:events'
import { silentLogger, type Logger } from '../../common/logger.js'
import { CURSOR_ORIGIN, type Cursor, type ProxyStore, type SubscriptionChange } from './store.js'

export interface SubscriptionWatchEvents {
  /** The set of topics with at least one subscriber changed: here it is, whole (sorted). */
  topics: [topics: string[]]
  /** Subscriptions of these clients changed (re-read them). */
  clients: [changes: SubscriptionChange[]]
  /** Changes were lost (log trimmed, Redis restarted empty): re-read every client of interest. */
  resync: []
}

export interface SubscriptionWatchOptions {
  store: ProxyStore
  /** Poll period in ms; default 200. */
  intervalMs?: number
  logger?: Logger
}

export class SubscriptionWatch extends EventEmitter<SubscriptionWatchEvents> {
  private readonly store: ProxyStore
  private readonly intervalMs: number
  private readonly logger: Logger
  private known: string[] = []
  private position: Cursor = CURSOR_ORIGIN
  private timer: NodeJS.Timeout | undefined
  private running = false
  private failing = false

  constructor(options: SubscriptionWatchOptions) {
    super()
    this.store = options.store
    this.intervalMs = options.intervalMs ?? 200
    this.logger = options.logger ?? silentLogger
  }

  /** Reads the active topics once (emitting `topics`), then polls. Rejects when Redis cannot be reached now. */
  async start(): Promise<void> {
    if (this.running) return
    // Position first, topics second: a change between the two is read again, never missed.
    this.position = await this.store.subscriptionChangesEnd()
    this.known = await this.store.activeTopics()
    this.running = true
    this.emit('topics', this.known)
    this.schedule()
  }

  /** The last known active topics. */
  topics(): string[] {
    return this.known
  }

  stop(): void {
    this.running = false
    clearTimeout(this.timer)
  }

  private schedule(): void {
    if (this.running) this.timer = setTimeout(() => void this.poll(), this.intervalMs)
  }

  private async poll(): Promise<void> {
    try {
      const { changes, next, complete } = await this.store.subscriptionChanges(this.position)
      if (!this.running) return
      this.position = next
      if (changes.length > 0 || !complete) await this.refreshTopics()
      if (!this.running) return
      if (changes.length > 0) this.emit('clients', changes)
      if (!complete) {
        this.logger.warn('subscription change log lost entries; re-reading subscriptions')
        this.emit('resync')
      }
      if (this.failing) this.logger.info('subscription changes readable again')
      this.failing = false
    } catch (err) {
      if (!this.failing) this.logger.warn({ err: (err as Error).message }, 'reading subscription changes failed; retrying')
      this.failing = true
    } finally {
      this.schedule()
    }
  }

  private async refreshTopics(): Promise<void> {
    const topics = await this.store.activeTopics()
    if (topics.length === this.known.length && topics.every((t, i) => t === this.known[i])) return
    this.known = topics
    this.emit('topics', topics)
  }
}
