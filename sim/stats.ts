/** Nearest-rank percentile of an ascending list (undefined when empty). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]
}

export function round(n: number | undefined, digits = 1): number | null {
  if (n === undefined || !Number.isFinite(n)) return null
  const f = 10 ** digits
  return Math.round(n * f) / f
}
