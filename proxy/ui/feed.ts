import { PassThrough } from 'node:stream'
import type { Logger } from '../../common/logger.js'
import type { TracerSnapshot } from '../tracer/stats.js'
import type { LiveState, LiveView } from './live-state.js'

/** At most one frame per this long, whatever the network does: the browser is never flooded. */
export const FEED_MS = 500
/** The tracer window the page's charts plot. */
export const FEED_WINDOW_SECONDS = 10
const MAX_CLIENTS = 100
/** A browser with this much unsent skips frames until it has read them (each frame is the whole state, so none is owed). */
const MAX_UNSENT_BYTES = 1024 * 1024

export interface FeedFrame {
  at: number
  live: LiveView
  tracer: Omit<TracerSnapshot, 'messages'> | null
}

/**
 * The page's live feed (server-sent events): every FEED_MS, when something
 * changed, one frame with the whole view, the same for every browser, built
 * once. A slow browser skips frames; past MAX_CLIENTS new ones are refused.
 */
export class LiveFeed {
  private readonly clients = new Set<PassThrough>()
  private timer: NodeJS.Timeout | undefined
  private sentVersion = -1
  private tracerAt = 0
  private tracer: FeedFrame['tracer'] = null
  private busy = false

  constructor(
    private readonly state: LiveState,
    private readonly tracerSnapshot: (windowSeconds: number) => Promise<TracerSnapshot>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), FEED_MS)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    for (const client of this.clients) client.end()
    this.clients.clear()
  }

  /** A new browser; undefined when the feed is full. */
  open(): PassThrough | undefined {
    if (this.clients.size >= MAX_CLIENTS) return undefined
    const stream = new PassThrough()
    this.clients.add(stream)
    stream.on('close', () => this.clients.delete(stream))
    this.sentVersion = -1 // the newcomer gets the next frame at once
    return stream
  }

  async frame(): Promise<FeedFrame> {
    if (Date.now() - this.tracerAt >= 1_000) {
      this.tracerAt = Date.now()
      try {
        const { messages: _messages, ...figures } = await this.tracerSnapshot(FEED_WINDOW_SECONDS)
        this.tracer = figures
      } catch (err) {
        this.log.debug({ err }, 'live feed: tracer figures unavailable')
      }
    }
    return { at: Date.now(), live: this.state.view(), tracer: this.tracer }
  }

  private async tick(): Promise<void> {
    if (this.busy || this.clients.size === 0) return
    this.busy = true
    try {
      const tracerDue = Date.now() - this.tracerAt >= 1_000
      if (this.state.version === this.sentVersion && !tracerDue) return
      this.sentVersion = this.state.version
      const text = `data: ${JSON.stringify(await this.frame())}\n\n`
      for (const client of this.clients) {
        if (client.writableLength + client.readableLength > MAX_UNSENT_BYTES) continue
        client.write(text)
      }
    } finally {
      this.busy = false
    }
  }
}
