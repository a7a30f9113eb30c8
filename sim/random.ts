/**
 * The simulator's seeded random source, which every part of the model draws
 * from in a fixed order (virtual time is common/event-queue.ts).
 */

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class SimRandom {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  between(low: number, high: number): number {
    return low + (high - low) * this.next()
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** Up to n distinct items, in random order (partial Fisher–Yates on a copy). */
  sample<T>(items: readonly T[], n: number): T[] {
    const copy = items.slice()
    const count = Math.min(n, copy.length)
    for (let i = 0; i < count; i++) {
      const j = i + this.int(copy.length - i)
      const t = copy[i]
      copy[i] = copy[j]
      copy[j] = t
    }
    return copy.slice(0, count)
  }

  /** A RandomBytes for the codec, drawn from this stream. */
  bytes(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) out[i] = (this.next() * 256) | 0
  }
}
