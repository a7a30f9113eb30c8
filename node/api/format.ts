/** A percentage as the published API shows it: two decimals, clamped to [0, 100]; NaN reads as 0. */
export function percent(value: number): string {
  if (Number.isNaN(value)) return '0.00'
  return Math.min(100, Math.max(0, value)).toFixed(2)
}
