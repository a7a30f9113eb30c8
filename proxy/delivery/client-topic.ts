/**
 * One attachment's position in one topic. It first replays from its cursor
 * with XRANGE, ignoring the live tail, and joins the tail only once the tail
 * has not dispatched anything past it (so every later event reaches it live);
 * events at or before its position are dropped, so the switch neither skips
 * nor repeats. Each event is checked against the one before it in the stream:
 * a gap (trimmed events) is reported, never skipped silently.
 */
import type { Cursor, ProxyStore } from '../store/store.js'
import { compareCursors } from '../store/redis-store.js'
import { backoffMs, pause } from './backoff.js'
import type { ResolvedEvent, TailListener, TopicTail } from './topic-tail.js'
import type { Delivery, GapNotice } from './types.js'

/** What a ClientTopic needs from its attachment. */
export interface ClientTopicOwner {
  readonly clientId: string
  readonly signal: AbortSignal
  /** False when the sink is full (or `unconfirmed` is too many): the owner closes the attachment. */
  push(delivery: Delivery, unconfirmed: number): boolean
  gap(notice: GapNotice): boolean
  /** The committed cursor may have moved. */
  changed(topic: ClientTopic): void
  /** Something unexpected failed: drop the connection (the client resumes elsewhere). */
  broken(err: unknown): void
  /** Replay failed this many times in a row (Redis down); it keeps retrying. */
  replayFailed(topic: string, err: unknown, failures: number): void
}

interface Pending {
  cursor: Cursor
  /** The position just before this delivery: committed while the delivery is unsent. */
  before: Cursor
}

export class ClientTopic implements TailListener {
  private live = false
  private replaying = false
  private stopped = false
  private readonly pending: Pending[] = []
  /** Set when the client unsubscribed: its cursor is no longer stored. */
  dropped = false

  constructor(
    readonly topic: string,
    public need: number,
    /** The last event considered (delivered, skipped, or reported as a gap). */
    private position: Cursor,
    private readonly owner: ClientTopicOwner,
    private readonly tail: TopicTail,
    private readonly store: ProxyStore,
    private readonly batchSize: number,
  ) {}

  get clientId(): string {
    return this.owner.clientId
  }

  /** Where a reconnect would resume: before the oldest delivery not yet sent. */
  get committed(): Cursor {
    return this.pending[0]?.before ?? this.position
  }

  /** Registers with the tail and starts replaying; delivery goes on in the background. */
  start(): void {
    this.tail.add(this)
    this.replayInBackground()
  }

  stop(): void {
    this.stopped = true
    this.tail.remove(this)
  }

  private get done(): boolean {
    return this.stopped || this.owner.signal.aborted
  }

  /** The frame of `delivery` was written: its cursor may be committed. */
  sent(cursor: Cursor): void {
    const i = this.pending.findIndex((p) => p.cursor === cursor)
    if (i < 0) return
    this.pending.splice(0, i + 1)
    this.owner.changed(this)
  }

  onEvents(events: readonly ResolvedEvent[]): void {
    if (!this.live || this.done) return
    for (const event of events) {
      if (event.nodes === this.need && event.message === undefined && compareCursors(event.cursor, this.position) > 0) {
        // The tail resolved this batch before we took this level (a threshold change): fetch it ourselves.
        this.live = false
        this.replayInBackground()
        return
      }
      if (!this.handle(event)) return
    }
  }

  private replayInBackground(): void {
    this.replay().catch((err: unknown) => this.owner.broken(err))
  }

  private async replay(): Promise<void> {
    if (this.replaying) return
    this.replaying = true
    let failures = 0
    try {
      while (!this.done) {
        let events: ResolvedEvent[]
        try {
          events = await this.tail.resolve(await this.store.readEvents(this.topic, this.position, this.batchSize), this.need)
          failures = 0
        } catch (err) {
          this.owner.replayFailed(this.topic, err, ++failures)
          await pause(backoffMs(failures), this.owner.signal)
          continue
        }
        if (this.done) return
        for (const event of events) if (!this.handle(event)) return
        const tailAt = this.tail.position
        // Join the tail once it has dispatched nothing past us; otherwise its
        // batches from here on would miss what it already sent.
        if (events.length < this.batchSize && tailAt !== undefined && compareCursors(tailAt, this.position) <= 0) {
          this.live = true
          return
        }
        if (events.length === 0) await pause(20, this.owner.signal)
      }
    } finally {
      this.replaying = false
    }
  }

  /** False when the owner is closing (sink full). */
  private handle(event: ResolvedEvent): boolean {
    // The usual case, the very next event, needs no comparison (this runs per event per client).
    if (event.previous !== this.position) {
      if (compareCursors(event.cursor, this.position) <= 0) return true
      if (compareCursors(event.previous, this.position) > 0) {
        if (!this.notify({ topic: this.topic, after: this.position, until: event.previous, reason: 'trimmed' })) return false
      }
    }
    const before = this.position
    if (event.nodes === this.need) {
      if (!event.message) {
        if (!this.notify({ topic: this.topic, after: before, until: event.cursor, reason: 'expired' })) return false
      } else {
        const delivery: Delivery = {
          topic: this.topic,
          messageId: event.messageId,
          data: event.message.data,
          source: event.message.source,
          cursor: event.cursor,
          nodes: event.nodes,
        }
        this.pending.push({ cursor: event.cursor, before })
        if (!this.owner.push(delivery, this.pending.length)) {
          this.pending.pop()
          return false
        }
      }
    }
    this.position = event.cursor
    if (this.pending.length === 0) this.owner.changed(this)
    return true
  }

  private notify(notice: GapNotice): boolean {
    if (!this.owner.gap(notice)) return false
    this.position = notice.until
    return true
  }
}
