import type { SizeResult } from './scenario.js'

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
