import '../common/polyfill.js'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadKernel } from '../common/rlnc/index.js'
import { lineCharts, type Panel } from './chart.js'
import { parseSimArgs, UsageError } from './options.js'
import { runSimulation, type SimConfig, type SimMode, type SimResult } from './run.js'

/**
 * `npm run sim:sweep [-- --nodes-list 25,100,1000 --messages 6 …]`: one setting
 * varied at a time from the defaults (shard factor 2–32, threshold 0.5–0.9,
 * mesh target 4–12 for both modes), at each node count, every point on the
 * same seed. Writes docs/sim-sweep.csv and docs/sim-sweep.svg; the last line
 * on stdout is one JSON object with every row. Other flags are `npm run sim`'s.
 */
interface Point {
  parameter: 'shard_factor' | 'threshold' | 'mesh_target'
  value: number
  mode: SimMode
  apply(config: SimConfig): SimConfig
}

const SHARD_FACTORS = [2, 4, 8, 16, 32]
const THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9]
const MESH_TARGETS = [4, 6, 8, 10, 12]
const THRESHOLD_K = 8

function points(): Point[] {
  const out: Point[] = []
  for (const k of SHARD_FACTORS) out.push({ parameter: 'shard_factor', value: k, mode: 'optimum', apply: (c) => ({ ...c, shardFactor: k }) })
  // At k = 8 each threshold step is a different rank (ceil(k × t) = 4…8); at k = 4, 0.6 and 0.7 would be the same setting.
  for (const t of THRESHOLDS) out.push({ parameter: 'threshold', value: t, mode: 'optimum', apply: (c) => ({ ...c, shardFactor: THRESHOLD_K, threshold: t }) })
  for (const mode of ['optimum', 'gossip'] as const) {
    for (const d of MESH_TARGETS) {
      out.push({ parameter: 'mesh_target', value: d, mode, apply: (c) => ({ ...c, mesh: { min: Math.ceil(d / 2), target: d, max: 2 * d } }) })
    }
  }
  return out
}

interface Row {
  nodes: number
  mode: SimMode
  parameter: Point['parameter']
  value: number
  result: SimResult
}

const COLUMNS = ['nodes', 'mode', 'parameter', 'value', 'completeness', 'time_to_all_p50_ms', 'time_to_all_p99_ms', 'delivery_p99_ms', 'amplification', 'finished', 'events', 'wall_ms']

function csv(rows: Row[]): string {
  const lines = rows.map(({ nodes, mode, parameter, value, result: r }) =>
    [nodes, mode, parameter, value, r.completeness, r.timeToAll.p50 ?? '', r.timeToAll.p99 ?? '', r.delivery.p99 ?? '', r.amplification, r.finished, r.events, r.wallMs].join(','),
  )
  return `${[COLUMNS.join(','), ...lines].join('\n')}\n`
}

const LABELS: Record<Point['parameter'], string> = { shard_factor: 'shard factor k', threshold: `threshold (k = ${THRESHOLD_K})`, mesh_target: 'mesh target' }

function chart(rows: Row[], base: SimConfig): string {
  const panels: Panel[] = []
  for (const parameter of ['shard_factor', 'threshold', 'mesh_target'] as const) {
    for (const metric of ['time to all p99 (s)', 'amplification'] as const) {
      const mine = rows.filter((r) => r.parameter === parameter)
      const names = [...new Set(mine.map((r) => `${r.mode}, ${r.nodes} nodes`))]
      panels.push({
        title: `${metric} vs ${LABELS[parameter]}`,
        xLabel: LABELS[parameter],
        yLabel: metric,
        logX: parameter === 'shard_factor',
        series: names.map((name) => ({
          name,
          points: mine
            .filter((r) => `${r.mode}, ${r.nodes} nodes` === name)
            .map((r): [number, number | null] => [r.value, metric === 'amplification' ? r.result.amplification : r.result.timeToAll.p99 === null ? null : r.result.timeToAll.p99 / 1000])
            .filter((p): p is [number, number] => p[1] !== null),
        })),
      })
    }
  }
  const title = `Simulated sweep: ${base.size / 1024 / 1024} MiB, ${base.uplinkMbps}/${base.downlinkMbps} Mbit/s up/down, ${base.latencyMs.join('–')} ms, ${base.loss * 100}% loss, seed ${base.seed}`
  return lineCharts(title, panels, 2)
}

function takeList(argv: string[], flag: string, fallback: number[]): number[] {
  const i = argv.findIndex((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))
  if (i < 0) return fallback
  const value = argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1]
  argv.splice(i, argv[i].includes('=') ? 1 : 2)
  const list = (value ?? '').split(',').map(Number)
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 2)) throw new UsageError(`--${flag}: expected node counts like 100,1000, got "${value}"`)
  return list
}

const argv = process.argv.slice(2)
let nodeCounts: number[]
let base: SimConfig
try {
  nodeCounts = takeList(argv, 'nodes-list', [25, 100, 1000])
  base = parseSimArgs(['--messages', '6', '--rate', '0.2', ...argv]).config
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}
const kernel = await loadKernel()
const rows: Row[] = []
const all = nodeCounts.flatMap((nodes) => points().map((point) => ({ nodes, point })))
for (const [i, { nodes, point }] of all.entries()) {
  const config = point.apply({ ...base, nodes, mode: point.mode })
  const result = runSimulation(config, { kernel })
  rows.push({ nodes, mode: point.mode, parameter: point.parameter, value: point.value, result })
  process.stderr.write(
    `[sweep ${i + 1}/${all.length}] ${nodes} nodes ${point.mode} ${point.parameter}=${point.value}: completeness ${result.completeness}, p99 ${result.timeToAll.p99} ms, amplification ${result.amplification} (${(result.wallMs / 1000).toFixed(1)} s)\n`,
  )
}
const docs = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'docs')
await mkdir(docs, { recursive: true })
await writeFile(path.join(docs, 'sim-sweep.csv'), csv(rows))
await writeFile(path.join(docs, 'sim-sweep.svg'), chart(rows, base))
process.stdout.write(`wrote docs/sim-sweep.csv and docs/sim-sweep.svg (${rows.length} runs)\n`)
process.stdout.write(
  `${JSON.stringify({ base, rows: rows.map(({ nodes, mode, parameter, value, result }) => ({ nodes, mode, parameter, value, completeness: result.completeness, timeToAll: result.timeToAll, amplification: result.amplification })) })}\n`,
)
