/**
 * Virtual time: one event queue ordered by (time, insertion order), so a run
 * is a pure function of what was scheduled. The simulator and the in-memory
 * test network both run the protocol core on it.
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

  /** Runs every event due at or before `until`, then stands at `until`. */
  runTo(until: number): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= until) {
      const next = this.heap[0]!
      this.pop()
      this.now = next.at
      this.processed++
      next.run(next.arg as never)
    }
    this.now = Math.max(this.now, until)
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
