import type { Logger } from '../../common/logger.js'

/** Where a queue writes: a grpc-js server stream, or anything with the same backpressure contract. */
export interface OutboundSink<T> {
  /** Like stream.write: false means "buffer full, wait for drain". */
  write(item: T): boolean
  /** Calls `listener` once when the sink can take more; returns a function that cancels the wait. */
  onceDrain(listener: () => void): () => void
}

export interface OutboundQueueOptions<T> {
  /** Most items held while the sink is full (≥ 1). */
  capacity: number
  /** Most bytes held (by `sizeOf`) while the sink is full; one item larger than this is still held alone. */
  maxBytes?: number
  sizeOf?: (item: T) => number
  /** Called for each item dropped by the overflow rule (metrics). */
  onDrop?: (item: T) => void
  log: Logger
  /** Log fields that name the stream. */
  logContext?: Record<string, unknown>
}

/**
 * The per-stream outbound buffer of the sidecar.
 *
 * Items go straight to the sink while it accepts them. When `sink.write`
 * returns false (grpc-js backpressure: the client is not reading, or reads
 * slower than the node delivers), items wait here until the sink drains.
 *
 * OVERFLOW RULE — drop oldest: the queue holds at most `capacity` items and
 * `maxBytes` bytes; a new item that finds it full evicts the oldest queued
 * items until it fits. A slow subscriber
 * thus loses its oldest undelivered messages (and keeps the newest), and never
 * blocks the engine, the mesh or other subscribers; the node's memory per
 * stream stays bounded (capacity items here, plus what the sink accepted
 * before saying "full": for the sidecar, `writeBatch` responses in grpc-js's
 * stream buffer). Each drop calls `onDrop` (the server counts it in
 * `optimum_node_sidecar_queue_drops_total{topic}`); the log gets one warning
 * when an overflow episode starts and one info line with the episode's drop
 * count when the queue has emptied again, never a line per drop.
 */
export class OutboundQueue<T> {
  private readonly capacity: number
  private readonly ring: (T | undefined)[]
  private head = 0
  private size = 0
  private bytes = 0
  private readonly maxBytes: number
  private readonly sizeOf: (item: T) => number
  private cancelDrain: (() => void) | undefined
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
    this.maxBytes = options.maxBytes ?? Infinity
    this.sizeOf = options.sizeOf ?? (() => 0)
    this.ring = new Array<T | undefined>(options.capacity)
  }

  /** Items waiting for the sink. */
  get length(): number {
    return this.size
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Hands `item` to the sink now, or queues it (evicting the oldest when full). Ignored once closed. */
  push(item: T): void {
    if (this.closed) return
    if (this.size === 0 && this.cancelDrain === undefined) {
      this.writeOne(item)
      return
    }
    const bytes = this.sizeOf(item)
    while (this.size > 0 && (this.size === this.capacity || this.bytes + bytes > this.maxBytes)) this.dropOldest()
    this.ring[(this.head + this.size) % this.capacity] = item
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
    this.cancelDrain?.()
    this.cancelDrain = undefined
    this.ring.fill(undefined)
    this.size = 0
    this.bytes = 0
    this.settleFlush()
  }

  private writeOne(item: T): void {
    if (!this.sink.write(item)) this.waitForDrain()
  }

  private waitForDrain(): void {
    this.cancelDrain = this.sink.onceDrain(() => {
      this.cancelDrain = undefined
      this.pump()
    })
  }

  private pump(): void {
    while (!this.closed && this.size > 0 && this.cancelDrain === undefined) {
      this.writeOne(this.shift())
    }
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
        { ...this.options.logContext, capacity: this.capacity },
        'sidecar subscriber is not keeping up: its queue is full, dropping the oldest queued messages',
      )
    }
    this.options.onDrop?.(item)
  }

  private shift(): T {
    const item = this.ring[this.head] as T
    this.ring[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
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
