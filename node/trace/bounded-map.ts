/**
 * A Map that holds at most `max` entries: setting a new key past the cap
 * forgets the oldest-inserted one. For per-message bookkeeping on paths a
 * remote peer drives, where a flood of ids must not grow memory.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor(private readonly max: number) {
    if (!(max > 0)) throw new RangeError('BoundedMap needs a positive size')
  }

  get(key: K): V | undefined {
    return this.entries.get(key)
  }

  set(key: K, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.max) {
      this.entries.delete(this.entries.keys().next().value as K)
    }
    this.entries.set(key, value)
  }

  delete(key: K): boolean {
    return this.entries.delete(key)
  }

  entriesInOrder(): IterableIterator<[K, V]> {
    return this.entries.entries()
  }
}
