import { createHash } from 'node:crypto'

/** The digest a seen message is remembered by: SHA-256 of its body. */
export function bodyDigest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

/**
 * Message ids this node has published or delivered recently, each with the
 * digest of its body, so that a second publish of an id can be told apart: the
 * same body again (a retry: nothing to do) or another body (a conflict).
 *
 * Bounded like every cache a remote peer fills: an id is forgotten `ttlMs`
 * after it was recorded, and past `maxSize` ids the oldest go first. Every
 * entry has the same TTL, so the Map's insertion order is expiry order.
 */
export class SeenMessages {
  private readonly entries = new Map<string, { expires: number; digest: Buffer }>()

  constructor(
    readonly ttlMs: number,
    readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ttlMs > 0) || !(maxSize > 0)) throw new RangeError('SeenMessages needs a positive ttl and size')
  }

  get size(): number {
    return this.entries.size
  }

  /** The digest recorded for `id`, while it is remembered. */
  digestOf(id: string): Buffer | undefined {
    const entry = this.entries.get(id)
    if (entry === undefined) return undefined
    if (entry.expires > this.now()) return entry.digest
    this.entries.delete(id)
    return undefined
  }

  /** Records `id` unless it is remembered already; returns false (and changes nothing) then. */
  add(id: string, digest: Buffer): boolean {
    if (this.digestOf(id) !== undefined) return false
    const now = this.now()
    for (const [key, entry] of this.entries) {
      if (entry.expires > now && this.entries.size < this.maxSize) break
      this.entries.delete(key)
    }
    this.entries.set(id, { expires: now + this.ttlMs, digest })
    return true
  }

  delete(id: string): void {
    this.entries.delete(id)
  }
}
