/**
 * Stores reached cursors in batches: one `saveCursors` per topic per flush
 * instead of one write per delivery. A crash loses at most one flush period,
 * which the client sees as repeats on reconnect (message ids tell them apart),
 * never as a skip.
 */
import type { Logger } from '../../common/logger.js'
import type { Cursor, ProxyStore } from '../store/store.js'
import { compareCursors } from '../store/redis-store.js'

export interface CursorSource {
  readonly topic: string
  readonly clientId: string
  readonly committed: Cursor
  /** True once the cursor must not be stored any more (the client unsubscribed). */
  readonly dropped: boolean
}

export class CursorWriter {
  private readonly dirty = new Set<CursorSource>()
  private readonly saved = new Map<string, Cursor>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private failing = false

  constructor(private readonly store: ProxyStore, private readonly intervalMs: number, private readonly logger: Logger) {}

  mark(source: CursorSource): void {
    this.dirty.add(source)
    this.timer ??= setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, this.intervalMs)
  }

  /** Writes everything marked so far (waiting for a flush under way); a failure stays marked for the next one. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing
    if (this.dirty.size === 0) return
    this.flushing = this.write()
    try {
      await this.flushing
    } finally {
      this.flushing = undefined
    }
  }

  /** Stops the timer; call `flush` first to keep what was reached. */
  close(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private async write(): Promise<void> {
    const byTopic = new Map<string, Map<string, Cursor>>()
    const taken = [...this.dirty]
    this.dirty.clear()
    for (const source of taken) {
      if (source.dropped) continue
      const key = `${source.clientId}\u0000${source.topic}`
      const cursor = source.committed
      const saved = this.saved.get(key)
      if (saved !== undefined && compareCursors(cursor, saved) <= 0) continue
      const topic = byTopic.get(source.topic) ?? new Map<string, Cursor>()
      const other = topic.get(source.clientId)
      if (other === undefined || compareCursors(cursor, other) > 0) topic.set(source.clientId, cursor)
      byTopic.set(source.topic, topic)
    }
    const results = await Promise.allSettled([...byTopic].map(async ([topic, cursors]) => {
      await this.store.saveCursors(topic, cursors)
      for (const [clientId, cursor] of cursors) this.saved.set(`${clientId}\u0000${topic}`, cursor)
    }))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      for (const source of taken) this.mark(source)
      if (!this.failing) this.logger.warn({ err: (failed.reason as Error).message }, 'storing client cursors failed; retrying')
    } else if (this.failing) {
      this.logger.info('client cursors stored again')
    }
    this.failing = failed !== undefined
  }

  /** Forget what was saved for a client's topic (unsubscribed, or detached for good). */
  forget(clientId: string, topic: string): void {
    this.saved.delete(`${clientId}\u0000${topic}`)
  }
}
