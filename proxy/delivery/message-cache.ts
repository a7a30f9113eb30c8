import type { StoredMessage } from '../store/store.js'

/**
 * Recent message bodies of one topic: each count level of a message is its own
 * event, and clients of different thresholds take different levels, so one
 * fetch serves them all. Bounded in bytes; the oldest entry goes first.
 */
export class MessageCache {
  private readonly entries = new Map<string, StoredMessage | null>()
  private bytes = 0

  constructor(private readonly maxBytes: number) {}

  /** undefined: not cached; null: known to have expired. */
  get(messageId: string): StoredMessage | null | undefined {
    return this.entries.get(messageId)
  }

  set(messageId: string, message: StoredMessage | null): void {
    if (this.entries.has(messageId)) return
    const size = message?.data.byteLength ?? 0
    if (size > this.maxBytes) return
    this.entries.set(messageId, message)
    this.bytes += size
    for (const [id, old] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= MAX_ENTRIES) break
      this.entries.delete(id)
      this.bytes -= old?.data.byteLength ?? 0
    }
  }
}

const MAX_ENTRIES = 10_000
