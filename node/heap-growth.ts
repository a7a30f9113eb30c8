import { setFlagsFromString } from 'node:v8'

/**
 * How far above the heap live after a major GC V8 lets the next one wait, in
 * percent. V8's own factor rises to 4× on a busy process (it scales with how
 * fast the GC runs against the program), so a node passing messages as fast
 * as it can carried two to three times its live heap in garbage and its RSS
 * kept climbing with load, not with what it holds. Measured with `npm run
 * bench:soak -- --nodes=3 --messages=100000` (1 KiB, quiet 2-core machine),
 * RSS over messages 95k–100k against 5k–10k: +58–78% with V8's factor, +10–18%
 * at 50 (throughput −10%), +11–20% at 25 (throughput −19%).
 */
export const HEAP_GROWING_PERCENT = 50

/** Applies HEAP_GROWING_PERCENT to this process; V8 reads it at every major GC, so it may be set after start. */
export function limitHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}
