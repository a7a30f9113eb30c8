import type { RandomBytes } from '../../common/rlnc/index.js'

/** Integer and shuffle helpers over the injected byte source, so a seed fixes every choice. */
export class Rng {
  private readonly word = new Uint8Array(4)

  constructor(private readonly random: RandomBytes) {}

  /** Uniform in 0..n-1 (n ≤ 2^32; the modulo bias is below 2^-20 for the sizes used here). */
  int(n: number): number {
    this.random(this.word)
    const w = this.word
    return (((w[0] << 24) | (w[1] << 16) | (w[2] << 8) | w[3]) >>> 0) % n
  }

  /** Fisher–Yates, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = items[i]
      items[i] = items[j]
      items[j] = t
    }
    return items
  }

  /** Up to n items of `items`, picked at random. */
  sample<T>(items: Iterable<T>, n: number): T[] {
    return this.shuffle([...items]).slice(0, n)
  }
}
