import type { SizeResult } from './scenario.js'
import { round } from './stats.js'

export interface Failure {
  error: string
}

/** Results of one node count: per size label, or why the count could not be measured. */
export type CountResults = Record<string, SizeResult> | Failure
/** Results of one mode: per node count, or why the mode could not run at all (its node refused to start). */
export type ModeResults = Record<string, CountResults> | Failure

export function isFailure(value: object): value is Failure {
  return typeof (value as Partial<Failure>).error === 'string'
}

/** True when a run needs a look: something failed, or messages went missing. */
export function hasTrouble(results: Record<string, ModeResults>): boolean {
  const cellTrouble = (cell: SizeResult): boolean => cell.lost > 0 || cell.missing > 0
  return Object.values(results).some(
    (mode) => isFailure(mode) || Object.values(mode).some((count) => isFailure(count) || Object.values(count).some(cellTrouble)),
  )
}

const COLUMNS = ['mode', 'nodes', 'size', 'p50 ms', 'p99 ms', 'msg/s', 'ampl.', 'bytes sent', 'lost', 'missing'] as const

/** A fixed-width table: one row per (mode, node count, size), failures spelled out on their row. */
export function formatTable(results: Record<string, ModeResults>): string {
  const rows: string[][] = []
  const notes: string[] = []
  const show = (value: number | null): string => (value === null ? '-' : String(value))
  for (const [mode, perMode] of Object.entries(results)) {
    if (isFailure(perMode)) {
      notes.push(`${mode}: ${perMode.error}`)
      continue
    }
    for (const [count, perCount] of Object.entries(perMode)) {
      if (isFailure(perCount)) {
        notes.push(`${mode} n=${count}: ${perCount.error}`)
        continue
      }
      for (const [size, cell] of Object.entries(perCount)) {
        rows.push([
          mode,
          count,
          size,
          show(cell.p50_ms),
          show(cell.p99_ms),
          show(cell.msgs_per_s),
          String(cell.amplification),
          String(cell.bytes_sent_total),
          String(cell.lost),
          String(cell.missing),
        ])
      }
    }
  }
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  // Names read left-aligned, numbers right-aligned.
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  return [line(COLUMNS), ...rows.map(line), ...notes.map((note) => `error: ${note}`)].join('\n')
}

/** optimum ÷ gossipsub for each node count and size both modes measured. */
export interface Ratios {
  /** Per size: the largest ratio over the node counts (the one a target must meet). */
  amplification: Record<string, number>
  p99: Record<string, number>
  by_nodes: Record<string, { amplification: Record<string, number>; p99: Record<string, number> }>
}

/** The ratios of the two modes, or undefined unless both ran. */
export function ratios(results: Record<string, ModeResults>): Ratios | undefined {
  const optimum = results.optimum
  const gossipsub = results.gossipsub
  if (optimum === undefined || gossipsub === undefined || isFailure(optimum) || isFailure(gossipsub)) return undefined
  const out: Ratios = { amplification: {}, p99: {}, by_nodes: {} }
  const worst = (into: Record<string, number>, size: string, value: number): void => {
    into[size] = Math.max(into[size] ?? 0, value)
  }
  for (const [count, cells] of Object.entries(optimum)) {
    const base = gossipsub[count]
    if (base === undefined || isFailure(base) || isFailure(cells)) continue
    const perCount = { amplification: {} as Record<string, number>, p99: {} as Record<string, number> }
    for (const [size, cell] of Object.entries(cells)) {
      const other = base[size]
      if (other === undefined) continue
      if (other.amplification > 0) {
        perCount.amplification[size] = round(cell.amplification / other.amplification, 3)
        worst(out.amplification, size, perCount.amplification[size])
      }
      if (cell.p99_ms !== null && other.p99_ms !== null && other.p99_ms > 0) {
        perCount.p99[size] = round(cell.p99_ms / other.p99_ms, 3)
        worst(out.p99, size, perCount.p99[size])
      }
    }
    out.by_nodes[count] = perCount
  }
  return out
}

/** Lines for the table: one per node count, `ratio n=8: 1KiB ampl. 0.9, p99 1.1; …`. */
export function formatRatios(r: Ratios): string {
  return Object.entries(r.by_nodes)
    .map(([count, { amplification, p99 }]) => {
      const sizes = Object.keys(amplification)
      const cells = sizes.map((size) => `${size} ampl. ${amplification[size]}, p99 ${p99[size] ?? '-'}`)
      return `optimum/gossipsub n=${count}: ${cells.join('; ')}`
    })
    .join('\n')
}
