/**
 * Ids of messages delivered or published here, with their content hash, each
 * forgotten `ttlMs` after it was added; never more than `maxSize` (oldest
 * first). The hash lets publish tell a retry (same content) from a clash.
 * Insertion order equals expiry order (one TTL), so expiry pops a prefix.
 */
export class SeenCache {
  private readonly entries = new Map<string, { expires: number; hash: Uint8Array }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size
  }

  hash(id: string): Uint8Array | undefined {
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    if (entry.expires > this.now()) return entry.hash
    this.entries.delete(id)
    return undefined
  }

  has(id: string): boolean {
    return this.hash(id) !== undefined
  }

  add(id: string, hash: Uint8Array): void {
    this.entries.delete(id)
    this.prune()
    if (this.entries.size >= this.maxSize) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(id, { expires: this.now() + this.ttlMs, hash })
  }

  prune(): void {
    const now = this.now()
    for (const [id, entry] of this.entries) {
      if (entry.expires > now) break
      this.entries.delete(id)
    }
  }
}
