import type { Logger } from '../../common/logger.js'

/** Where a queue writes: a grpc-js server stream, or anything that reports when an item has left it. */
export interface OutboundSink<T> {
  /** Hands `item` over; `written` runs once the item has left the sink (sent, or never will be). */
  write(item: T, written: () => void): void
}

export interface OutboundQueueOptions<T> {
  /** Most items held at once, queued or in the sink (≥ 1). */
  capacity: number
  /** Most bytes (by `sizeOf`) held at once, queued or in the sink; one item larger than this is still held alone. */
  maxBytes?: number
  /** What holding one item costs; for the sidecar, its encoded size twice over once it is in the sink (see below). */
  sizeOf?: (item: T) => number
  /** What an item costs while in the sink; defaults to `sizeOf`. */
  sinkSizeOf?: (item: T) => number
  /** Most items in the sink at once (a write batch); at most half the capacity. Default: half the capacity. */
  sinkCapacity?: number
  /** Called for each item dropped by the overflow rule (metrics). */
  onDrop?: (item: T) => void
  log: Logger
  /** Log fields that name the stream. */
  logContext?: Record<string, unknown>
}

/**
 * The per-stream outbound buffer of the sidecar, and the one bound on what the
 * node holds for a stream's responses.
 *
 * An item is either queued here or in the sink (handed to grpc-js, not yet on
 * the socket: grpc-js holds its encoded frame until the HTTP/2 stream has sent
 * it, which a client that stops reading, or a small HTTP/2 window, can delay
 * for ever). Both count against the same bound: `capacity` items and
 * `maxBytes` bytes. The sink takes items while it holds fewer than
 * `sinkCapacity` and at most half of `maxBytes` (always at least one item, so
 * a large message still moves); the rest wait here.
 *
 * OVERFLOW RULE — drop oldest: a new item that finds the bound reached evicts
 * the oldest queued items until it fits. What is in the sink cannot be
 * recalled, but the sink holds at most half the bytes, so the newest item
 * always fits once the queued ones are gone (an item larger than everything
 * the queue may hold is kept alone). A slow subscriber thus loses its oldest
 * undelivered messages, keeps the newest, and never blocks the engine, the
 * mesh or other subscribers. Each drop calls `onDrop` (the server counts it in
 * `optimum_node_sidecar_queue_drops_total{topic}`); the log gets one warning
 * when an overflow episode starts and one info line with the episode's drop
 * count when the queue has emptied again, never a line per drop.
 */
export class OutboundQueue<T> {
  private readonly capacity: number
  private readonly sinkCapacity: number
  /** Grows (by doubling, up to the capacity) only as items have to wait: most streams never need much of it. */
  private ring: (T | undefined)[] = []
  private head = 0
  private size = 0
  private bytes = 0
  private inSink = 0
  private sinkBytes = 0
  private readonly maxBytes: number
  private readonly sizeOf: (item: T) => number
  private readonly sinkSizeOf: (item: T) => number
  private closed = false
  private episodeDrops = 0
  private flushWaiters: (() => void)[] = []
  /** Items dropped over the queue's life. */
  dropped = 0
  /** Largest number of items ever queued at once (≤ capacity). */
  highWater = 0

  constructor(
    private readonly sink: OutboundSink<T>,
    private readonly options: OutboundQueueOptions<T>,
  ) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`queue capacity must be a positive integer, got ${options.capacity}`)
    }
    this.capacity = options.capacity
    const half = Math.max(1, Math.floor(options.capacity / 2))
    this.sinkCapacity = Math.max(1, Math.min(options.sinkCapacity ?? half, half))
    this.maxBytes = options.maxBytes ?? Infinity
    this.sizeOf = options.sizeOf ?? (() => 0)
    this.sinkSizeOf = options.sinkSizeOf ?? this.sizeOf
  }

  /** Items waiting for the sink. */
  get length(): number {
    return this.size
  }

  /** Items handed to the sink that have not left it yet. */
  get inFlight(): number {
    return this.inSink
  }

  /** Bytes held, queued and in the sink. */
  get heldBytes(): number {
    return this.bytes + this.sinkBytes
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Hands `item` to the sink now, or queues it (evicting the oldest when the bound is reached). Ignored once closed. */
  push(item: T): void {
    if (this.closed) return
    if (this.size === 0 && this.sinkHasRoomFor(item)) {
      this.toSink(item)
      return
    }
    const bytes = this.sizeOf(item)
    while (this.size > 0 && (this.size + this.inSink >= this.capacity || this.heldBytes + bytes > this.maxBytes)) this.dropOldest()
    if (this.size === this.ring.length) this.grow()
    this.ring[(this.head + this.size) % this.ring.length] = item
    this.size++
    this.bytes += bytes
    if (this.size > this.highWater) this.highWater = this.size
  }

  /** Resolves once every queued item has been handed to the sink (at once when none waits, or when closed). */
  flush(): Promise<void> {
    if (this.closed || this.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.flushWaiters.push(resolve))
  }

  /** Discards what is queued and stops writing; `flush` waiters resolve. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.ring = []
    this.head = 0
    this.size = 0
    this.bytes = 0
    this.settleFlush()
  }

  private sinkHasRoomFor(item: T): boolean {
    if (this.inSink === 0) return true
    return this.inSink < this.sinkCapacity && this.sinkBytes + this.sinkSizeOf(item) <= this.maxBytes / 2
  }

  private toSink(item: T): void {
    const cost = this.sinkSizeOf(item)
    this.inSink++
    this.sinkBytes += cost
    let done = false
    this.sink.write(item, () => {
      if (done) return
      done = true
      this.inSink--
      this.sinkBytes -= cost
      this.pump()
    })
  }

  private pump(): void {
    while (!this.closed && this.size > 0 && this.sinkHasRoomFor(this.ring[this.head] as T)) this.toSink(this.shift())
    if (this.size === 0) {
      this.endEpisode()
      this.settleFlush()
    }
  }

  private dropOldest(): void {
    const item = this.shift()
    this.dropped++
    if (this.episodeDrops++ === 0) {
      this.options.log.warn(
        { ...this.options.logContext, capacity: this.capacity, maxBytes: this.maxBytes },
        'sidecar subscriber is not keeping up: its queue is full, dropping the oldest queued messages',
      )
    }
    this.options.onDrop?.(item)
  }

  private grow(): void {
    const length = Math.min(this.capacity, Math.max(16, this.ring.length * 2))
    const grown = new Array<T | undefined>(length)
    for (let i = 0; i < this.size; i++) grown[i] = this.ring[(this.head + i) % this.ring.length]
    this.ring = grown
    this.head = 0
  }

  private shift(): T {
    const ring = this.ring
    const item = ring[this.head] as T
    ring[this.head] = undefined
    this.head = (this.head + 1) % ring.length
    this.size--
    this.bytes -= this.sizeOf(item)
    return item
  }

  private endEpisode(): void {
    if (this.episodeDrops === 0) return
    this.options.log.info(
      { ...this.options.logContext, dropped: this.episodeDrops, droppedTotal: this.dropped },
      'sidecar subscriber caught up after dropping messages',
    )
    this.episodeDrops = 0
  }

  private settleFlush(): void {
    const waiters = this.flushWaiters
    this.flushWaiters = []
    for (const resolve of waiters) resolve()
  }
}
