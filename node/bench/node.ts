import '../../common/polyfill.js'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Cluster, killAllNodesNow, NodeExitedError, stopAllNodes } from './cluster.js'
import { parseOptions, type MessageSize } from './options.js'
import { formatRatios, formatTable, hasTrouble, ratios, type CountResults, type ModeResults } from './report.js'
import { PUBLISH_WINDOW, runScenario } from './scenario.js'

/**
 * `npm run bench:node [-- --modes=gossipsub,optimum --nodes=8,16 --sizes=1KiB,64KiB,1MiB --quick]`
 *
 * For each mode and node count (both modes on the same topology, one after the other), starts that many real node processes on
 * loopback and measures, per message size: latency from publish to the last
 * node's delivery (p50, p99), sustained messages per second, and bytes sent
 * per node per message ÷ message size (amplification). Progress and a table
 * go to stdout; the last line is the whole result as one JSON object, with
 * `ratio` (optimum ÷ gossipsub: amplification and p99 per size) when both modes ran. Exit
 * status 1 when anything failed or a message went missing (the logs are kept).
 */

const options = parseOptions(process.argv.slice(2))
const began = performance.now()
const say = (line: string): void => {
  process.stdout.write(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
}

const root = await mkdtemp(path.join(os.tmpdir(), 'optimum-bench-'))
process.on('exit', killAllNodesNow)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the nodes (logs: ${root})`)
    void stopAllNodes().finally(() => process.exit(130))
  })
}

const DEFAULT_MAX_MSG_SIZE = 1024 * 1024
const largest = Math.max(...options.sizes.map((size) => size.bytes))
const env: Record<string, string> =
  largest > DEFAULT_MAX_MSG_SIZE ? { GOSSIPSUB_MAX_MSG_SIZE: String(largest), OPTIMUM_MAX_MSG_SIZE: String(largest) } : {}
// The nodes run in the repository root, where node/main.ts reads a .env if there is one.
const dotEnv = fileURLToPath(new URL('../../.env', import.meta.url))
if (existsSync(dotEnv)) say(`note: ${dotEnv} exists and the nodes read it (the variables the bench sets win)`)

const results: Record<string, ModeResults> = {}

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
      cluster = await Cluster.start({ mode, size: n, dir, env })
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
    try {
      progress('all nodes answer their API')
      perMode[n] = await runScenario(cluster, { sizes: options.sizes, warmup: options.quick ? 2 : 5, progress })
    } catch (err) {
      progress(`failed: ${(err as Error).message}`)
      perMode[n] = { error: (err as Error).message }
    } finally {
      await cluster.stop()
    }
  }
}

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
  duration_s: Math.round(seconds),
}
process.stdout.write(`${JSON.stringify({ ...results, ...(ratio ? { ratio } : {}), meta })}\n`, () => process.exit(trouble ? 1 : 0))
