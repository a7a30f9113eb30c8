/**
 * Virtual time for the simulator: one event queue ordered by (time, insertion
 * order), so a run is a pure function of its seed, and a seeded random source
 * every part of the model draws from in a fixed order.
 */

interface Event {
  at: number
  seq: number
  run: (arg: never) => void
  arg: unknown
}

export class EventQueue {
  now = 0
  /** Events run so far (the simulator's own speed measure). */
  processed = 0
  private readonly heap: Event[] = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  /**
   * Runs `run(arg)` at virtual time `at` (never earlier than now). Hot paths
   * pass a long-lived function and a record instead of a fresh closure.
   */
  at<T>(at: number, run: (arg: T) => void, arg?: T): void {
    const event: Event = { at: Math.max(at, this.now), seq: this.seq++, run: run as (arg: never) => void, arg }
    const q = this.heap
    let i = q.length
    q.push(event)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (before(q[parent], event)) break
      q[i] = q[parent]
      i = parent
    }
    q[i] = event
  }

  after<T>(ms: number, run: (arg: T) => void, arg?: T): void {
    this.at(this.now + ms, run, arg)
  }

  /** Runs events until `done()` holds (checked after each) or virtual time passes `until`; returns whether it held. */
  runUntil(done: () => boolean, until: number): boolean {
    while (!done()) {
      const next = this.heap[0]
      if (next === undefined || next.at > until) {
        this.now = Math.max(this.now, until)
        return done()
      }
      this.pop()
      this.now = next.at
      this.processed++
      next.run(next.arg as never)
    }
    return true
  }

  private pop(): void {
    const q = this.heap
    const last = q.pop()!
    if (q.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      let best = last
      if (l < q.length && before(q[l], best)) {
        m = l
        best = q[l]
      }
      if (r < q.length && before(q[r], best)) m = r
      if (m === i) break
      q[i] = q[m]
      i = m
    }
    q[i] = last
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

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
