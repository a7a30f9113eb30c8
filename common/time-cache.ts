/**
 * A set of recently seen keys that forgets each key `ttlMs` after it was added
 * and never holds more than `maxSize` keys (the oldest go first). Seen-message
 * caches sit on paths a remote peer drives, so both bounds matter: the TTL
 * keeps normal memory flat, the size cap bounds a flood.
 */
export class TimeCache<K> {
  private readonly entries = new Map<K, number>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ttlMs > 0) || !(maxSize > 0)) throw new RangeError('TimeCache needs a positive ttl and size')
  }

  get size(): number {
    return this.entries.size
  }

  has(key: K): boolean {
    const expires = this.entries.get(key)
    if (expires === undefined) return false
    if (expires > this.now()) return true
    this.entries.delete(key)
    return false
  }

  /** Adds the key; returns false when it was already present (and unexpired). */
  add(key: K): boolean {
    if (this.has(key)) return false
    this.prune()
    if (this.entries.size >= this.maxSize) {
      const oldest = this.entries.keys().next().value as K
      this.entries.delete(oldest)
    }
    this.entries.set(key, this.now() + this.ttlMs)
    return true
  }

  delete(key: K): void {
    this.entries.delete(key)
  }

  /** Map keeps insertion order and every entry has the same TTL, so expired keys are a prefix. */
  private prune(): void {
    const now = this.now()
    for (const [key, expires] of this.entries) {
      if (expires > now) break
      this.entries.delete(key)
    }
  }
}
