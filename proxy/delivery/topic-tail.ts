/**
 * One `XREAD BLOCK` loop over one topic's stream, shared by every local client
 * of that topic. It owns its blocking connection, resolves message bodies
 * (through a small cache) for the count levels its listeners take, and
 * dispatches each batch to all listeners at once. Redis errors are retried
 * with capped backoff from the same position, so an outage or a Redis restart
 * only delays delivery.
 */
import { silentLogger, type Logger } from '../../common/logger.js'
import type { BlockingReader, Cursor, ProxyStore, StoredMessage, TopicEvent } from '../store/store.js'
import { backoffDelay, pause, REDIS_RETRY } from '../../common/backoff.js'
import { MessageCache } from './message-cache.js'

export interface ResolvedEvent extends TopicEvent {
  /** The body; null when it expired; undefined when no listener took this count level at the time. */
  message: StoredMessage | null | undefined
}

export interface TailListener {
  /** The count level this listener delivers at (see ./threshold.ts). */
  readonly need: number
  /** Called in stream order; must not throw. */
  onEvents(events: readonly ResolvedEvent[]): void
}

export interface TopicTailOptions {
  batchSize: number
  /** How long one XREAD blocks (ms) before it is issued again. */
  blockMs: number
  cacheBytes: number
  logger: Logger
}

export class TopicTail {
  /** The last event dispatched to listeners; undefined until the stream's end has been read once. */
  position: Cursor | undefined
  private readonly listeners = new Set<TailListener>()
  private readonly cache: MessageCache
  private readonly abort = new AbortController()
  private readonly logger: Logger
  private reader: BlockingReader | undefined
  private loopDone: Promise<void> | undefined

  constructor(readonly topic: string, private readonly store: ProxyStore, private readonly options: TopicTailOptions) {
    this.cache = new MessageCache(options.cacheBytes)
    this.logger = (options.logger ?? silentLogger).child({ topic })
  }

  get size(): number {
    return this.listeners.size
  }

  add(listener: TailListener): void {
    this.listeners.add(listener)
    if (!this.loopDone) this.loopDone = this.loop()
  }

  remove(listener: TailListener): void {
    this.listeners.delete(listener)
  }

  async stop(): Promise<void> {
    this.abort.abort()
    this.reader?.close()
    await this.loopDone
  }

  /**
   * A body this replica already holds (a node delivered it, and it is the one
   * stored): the tail then sends its event without asking Redis for it.
   */
  prime(messageId: string, message: StoredMessage): void {
    if (this.listeners.size > 0) this.cache.set(messageId, message)
  }

  /** Bodies for the events whose count level some listener (or `extraNeed`) takes. */
  async resolve(events: readonly TopicEvent[], extraNeed?: number): Promise<ResolvedEvent[]> {
    const needs = new Set([...this.listeners].map((l) => l.need))
    if (extraNeed !== undefined) needs.add(extraNeed)
    const missing = [...new Set(events.filter((e) => needs.has(e.nodes) && this.cache.get(e.messageId) === undefined).map((e) => e.messageId))]
    if (missing.length > 0) {
      const found = await this.store.messages(this.topic, missing)
      missing.forEach((id, i) => this.cache.set(id, found[i] ?? null))
    }
    return events.map((e) => ({ ...e, message: needs.has(e.nodes) ? (this.cache.get(e.messageId) ?? null) : undefined }))
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal
    let failures = 0
    while (!signal.aborted) {
      try {
        if (this.position === undefined) this.position = await this.store.lastCursor(this.topic)
        this.reader ??= this.store.blockingReader()
        const events = await this.reader.readEvents(this.topic, this.position, this.options.batchSize, this.options.blockMs)
        if (signal.aborted) break
        if (events.length > 0) {
          // The reply of the arrival that appended these events often comes in
          // on the same turn of the event loop: let it prime the cache first.
          await new Promise((resolve) => setImmediate(resolve))
          this.dispatch(await this.resolve(events))
        }
        if (failures > 0) this.logger.info({ failures }, 'topic stream readable again')
        failures = 0
      } catch (err) {
        if (signal.aborted) break
        failures++
        if (failures === 1) this.logger.warn({ err: (err as Error).message }, 'reading the topic stream failed; retrying')
        await pause(backoffDelay(REDIS_RETRY, failures - 1), signal)
      }
    }
  }

  private dispatch(events: ResolvedEvent[]): void {
    this.position = events.at(-1)!.cursor
    for (const listener of this.listeners) {
      try {
        listener.onEvents(events)
      } catch (err) {
        this.logger.error({ err }, 'delivery listener failed')
      }
    }
  }
}
