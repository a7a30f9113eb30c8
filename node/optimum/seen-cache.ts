/** Ring slots allocated at first; the ring doubles up to maxSize as ids come. */
const INITIAL_SLOTS = 1024

/**
 * Ids of messages delivered or published here, each with a 48-bit
 * fingerprint of its content hash, forgotten `ttlMs` after it was added;
 * never more than `maxSize` (oldest first). The fingerprint lets publish tell
 * a retry (same content) from a clash.
 *
 * A node adds an id per message and keeps it for two minutes, so at a
 * thousand messages a second this holds the most entries of anything in the
 * node: each costs its id string and a map slot, and nothing else. Expiry and
 * fingerprint live in typed rings indexed by the slot (no object, no boxed
 * number per entry). Insertion order equals expiry order (one TTL), so expiry
 * pops the ring's front.
 */
export class SeenCache {
  /** id → its ring slot. */
  private readonly slots = new Map<string, number>()
  /**
   * Ring, oldest at `head`: the id of each slot, undefined once it left
   * (re-added or expired early), so a defined id's slot is the one `slots` names.
   */
  private ids: Array<string | undefined> = []
  private expires = new Float64Array(0)
  private prints = new Float64Array(0)
  private head = 0
  /** Slots in use from head, live or not. */
  private used = 0

  constructor(
    private readonly ttlMs: number,
    private readonly maxSize: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.slots.size
  }

  has(id: string): boolean {
    return this.live(id) !== undefined
  }

  /** Whether the id was seen with this content hash; undefined when the id is unknown (or expired). */
  sameContent(id: string, hash: Uint8Array): boolean | undefined {
    const slot = this.live(id)
    return slot === undefined ? undefined : this.prints[slot] === fingerprint(hash)
  }

  add(id: string, hash: Uint8Array): void {
    if (this.maxSize < 1) return
    const earlier = this.slots.get(id)
    if (earlier !== undefined) this.ids[earlier] = undefined
    this.prune()
    if (this.used === this.ids.length) this.makeRoom()
    const slot = (this.head + this.used) % this.ids.length
    this.used++
    this.ids[slot] = id
    this.expires[slot] = this.now() + this.ttlMs
    this.prints[slot] = fingerprint(hash)
    this.slots.set(id, slot)
  }

  prune(): void {
    const now = this.now()
    while (this.used > 0 && (this.ids[this.head] === undefined || this.expires[this.head]! <= now)) this.popFront()
  }

  private live(id: string): number | undefined {
    const slot = this.slots.get(id)
    if (slot === undefined || this.expires[slot]! > this.now()) return slot
    this.slots.delete(id)
    this.ids[slot] = undefined
    return undefined
  }

  private popFront(): void {
    const id = this.ids[this.head]
    if (id !== undefined) this.slots.delete(id)
    this.ids[this.head] = undefined
    this.head = (this.head + 1) % this.ids.length
    this.used--
  }

  /**
   * A full ring doubles (up to maxSize slots); at maxSize it drops the holes
   * re-adds and early expiries left when they are an eighth of it or more
   * (so compaction costs O(1) per hole), else the oldest id.
   */
  private makeRoom(): void {
    const capacity = Math.min(this.maxSize, Math.max(INITIAL_SLOTS, this.ids.length * 2))
    if (capacity > this.ids.length || (this.used - this.slots.size) * 8 >= this.used) this.rebuild(capacity)
    else this.popFront()
  }

  /** Copies the live slots, oldest first, to the start of new rings of `capacity` slots. */
  private rebuild(capacity: number): void {
    const ids: Array<string | undefined> = new Array<string | undefined>(capacity)
    const expires = new Float64Array(capacity)
    const prints = new Float64Array(capacity)
    let to = 0
    for (let i = 0; i < this.used; i++) {
      const from = (this.head + i) % this.ids.length
      const id = this.ids[from]
      if (id === undefined) continue
      ids[to] = id
      expires[to] = this.expires[from]!
      prints[to] = this.prints[from]!
      this.slots.set(id, to++)
    }
    this.ids = ids
    this.expires = expires
    this.prints = prints
    this.head = 0
    this.used = to
  }
}

/** The hash's first six bytes as a number (exact below 2^53). */
function fingerprint(hash: Uint8Array): number {
  let print = 0
  for (let i = 0; i < 6; i++) print = print * 256 + (hash[i] ?? 0)
  return print
}
