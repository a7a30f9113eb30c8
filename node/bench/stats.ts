/**
 * Nearest-rank percentile (p in 0..100) of unsorted samples: always a value
 * that was measured, so a p99 of 30 samples is their maximum rather than an
 * interpolation that no message experienced. Undefined when there are none.
 */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}
