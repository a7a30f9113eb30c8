import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cluster, killAllNodesNow, NodeExitedError, stopAllNodes, type Placement } from './cluster.js'
import { SIDECAR_QUEUE_BYTES } from '../../common/config/variables.js'
import type { BenchOptions, MessageSize } from './options.js'
import { formatRatios, formatTable, hasTrouble, ratios, type CountResults, type ModeResults } from './report.js'
import { PUBLISH_WINDOW, runScenario } from './scenario.js'

export type Say = (line: string) => void

/** Progress lines as `[name  12.3 s] …`, timed from the call. */
export function progressPrinter(name: string): Say {
  const began = performance.now()
  return (line) => {
    process.stdout.write(`[${name} ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
  }
}

export interface BenchRun {
  options: BenchOptions
  say: Say
  /** Where the nodes run; loopback unless given. */
  placement?: Placement
  /** Merged into the JSON's `meta`. */
  meta?: Record<string, unknown>
  /**
   * Runs after the nodes are gone, however the bench ends (done, failed,
   * Ctrl-C, SIGTERM). Synchronous, because on process exit nothing else runs;
   * it may run more than once.
   */
  cleanup?: () => void
  /**
   * Counters of the network under the nodes (e.g. bytes and drops at the
   * caps); their change over each cluster's run goes to `meta.link`.
   */
  linkCounters?: () => Record<string, number>
}

const DEFAULT_MAX_MSG_SIZE = 1024 * 1024
const DEFAULT_SIDECAR_QUEUE_BYTES = Number(SIDECAR_QUEUE_BYTES.default)

/**
 * For each mode and node count (both modes on the same topology, one after
 * the other), starts that many real node processes and runs the scenario.
 * Progress goes to `say`, a table to stdout, and the last line is the whole
 * result as one JSON object, with `ratio` (optimum ÷ gossipsub: amplification
 * and p99 per size) when both modes ran. Exits the process: status 1 when
 * anything failed or a message went missing (the node logs are kept).
 */
export async function runBench(run: BenchRun): Promise<void> {
  const { options, say } = run
  const began = performance.now()
  const root = await mkdtemp(path.join(os.tmpdir(), 'optimum-bench-'))
  const cleanup = run.cleanup ?? ((): void => {})
  process.on('exit', () => {
    killAllNodesNow()
    cleanup()
  })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping the nodes (logs: ${root})`)
      void stopAllNodes().finally(() => {
        cleanup()
        process.exit(130)
      })
    })
  }

  const largest = Math.max(...options.sizes.map((size) => size.bytes))
  const env: Record<string, string> = {
    ...(largest > DEFAULT_MAX_MSG_SIZE ? { GOSSIPSUB_MAX_MSG_SIZE: String(largest), OPTIMUM_MAX_MSG_SIZE: String(largest) } : {}),
    // The publisher's own sidecar stream gets a whole publish window of its messages at once: with
    // the default bound a slow moment of the bench's reader would drop some (counted as missing).
    SIDECAR_QUEUE_BYTES: String(Math.max(DEFAULT_SIDECAR_QUEUE_BYTES, 4 * PUBLISH_WINDOW * largest)),
  }
  // The nodes run in the repository root, where node/main.ts reads a .env if there is one.
  const dotEnv = fileURLToPath(new URL('../../.env', import.meta.url))
  if (existsSync(dotEnv)) say(`note: ${dotEnv} exists and the nodes read it (the variables the bench sets win)`)

  const results: Record<string, ModeResults> = {}
  const link: Record<string, Record<string, Record<string, number>>> = {}
  for (const mode of options.modes) {
    const perMode: Record<string, CountResults> = {}
    results[mode] = perMode
    for (const n of options.nodeCounts) {
      const progress = (line: string): void => say(`${mode} n=${n}: ${line}`)
      const dir = path.join(root, `${mode}-${n}`)
      await mkdir(dir)
      progress(`starting ${n} nodes (logs: ${dir})`)
      let cluster: Cluster
      try {
        cluster = await Cluster.start({ mode, size: n, dir, env, ...(run.placement ? { placement: run.placement } : {}) })
      } catch (err) {
        if (err instanceof NodeExitedError && err.node === 1) {
          // The first node refusing to start is the mode refusing (e.g. not built yet): larger clusters would too.
          progress(`the mode cannot run: ${err.message}`)
          results[mode] = { error: err.reason }
          break
        }
        progress(`failed to start: ${(err as Error).message}`)
        perMode[n] = { error: (err as Error).message }
        continue
      }
      const linkBefore = run.linkCounters?.()
      try {
        progress('all nodes answer their API')
        perMode[n] = await runScenario(cluster, { sizes: options.sizes, warmup: options.quick ? 2 : 5, progress })
        if (linkBefore) {
          const after = run.linkCounters!()
          const change = Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (linkBefore[key] ?? 0)]))
          ;(link[mode] ??= {})[n] = change
          progress(`link: ${Object.entries(change).map(([key, value]) => `${key} ${value}`).join(', ')}`)
        }
      } catch (err) {
        progress(`failed: ${(err as Error).message}`)
        perMode[n] = { error: (err as Error).message }
      } finally {
        await cluster.stop()
      }
    }
  }
  cleanup()

  const trouble = hasTrouble(results)
  const seconds = (performance.now() - began) / 1000
  say(`done in ${seconds.toFixed(1)} s`)
  const ratio = ratios(results)
  process.stdout.write(`\n${formatTable(results)}\n${ratio ? `\n${formatRatios(ratio)}\n` : ''}\n`)
  if (trouble) say(`node logs kept in ${root}`)
  else await rm(root, { recursive: true, force: true })

  const sizeCounts = (pick: (size: MessageSize) => number): Record<string, number> =>
    Object.fromEntries(options.sizes.map((size) => [size.label, pick(size)]))
  const meta = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    M: sizeCounts((size) => size.latencyCount),
    K: sizeCounts((size) => size.throughputCount),
    publish_window: PUBLISH_WINDOW,
    quick: options.quick,
    ...run.meta,
    ...(run.linkCounters ? { link } : {}),
    duration_s: Math.round(seconds),
  }
  process.stdout.write(`${JSON.stringify({ ...results, ...(ratio ? { ratio } : {}), meta })}\n`, () => process.exit(trouble ? 1 : 0))
}
