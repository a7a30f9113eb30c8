/**
 * Ids of messages delivered or published here, each with a 48-bit
 * fingerprint of its content hash, forgotten `ttlMs` after it was added;
 * never more than `maxSize` (oldest first). The fingerprint lets publish tell
 * a retry (same content) from a clash at a few dozen bytes per id, so memory
 * stays small at the size cap. Insertion order equals expiry order (one TTL),
 * so expiry pops a prefix.
 */
export class SeenCache {
  private readonly entries = new Map<string, { expires: number; print: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size
  }

  has(id: string): boolean {
    return this.live(id) !== undefined
  }

  /** Whether the id was seen with this content hash; undefined when the id is unknown (or expired). */
  sameContent(id: string, hash: Uint8Array): boolean | undefined {
    const entry = this.live(id)
    return entry === undefined ? undefined : entry.print === fingerprint(hash)
  }

  add(id: string, hash: Uint8Array): void {
    this.entries.delete(id)
    this.prune()
    if (this.entries.size >= this.maxSize) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(id, { expires: this.now() + this.ttlMs, print: fingerprint(hash) })
  }

  prune(): void {
    const now = this.now()
    for (const [id, entry] of this.entries) {
      if (entry.expires > now) break
      this.entries.delete(id)
    }
  }

  private live(id: string): { expires: number; print: number } | undefined {
    const entry = this.entries.get(id)
    if (entry === undefined || entry.expires > this.now()) return entry
    this.entries.delete(id)
    return undefined
  }
}

/** The hash's first six bytes as a number (exact below 2^53). */
function fingerprint(hash: Uint8Array): number {
  let print = 0
  for (let i = 0; i < 6; i++) print = print * 256 + (hash[i] ?? 0)
  return print
}
