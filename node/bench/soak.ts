import '../../common/polyfill.js'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { intFlag, parseFlagsOrExit, stringFlag } from '../../common/cli/go-flags.js'
import type { NodeMode } from '../../common/config/index.js'
import { Cluster, killAllNodesNow } from './cluster.js'
import { DeliveryTracker } from './deliveries.js'
import { memoryGauges, type MemoryGauges } from './node-api.js'
import { measureThroughput } from './phases.js'
import { PUBLISH_WINDOW, TOPIC } from './scenario.js'
import { SidecarTap } from './sidecar-tap.js'
import { percentile, round } from './stats.js'

/**
 * `npm run bench:soak [-- --mode=optimum --nodes=4 --messages=100000 --size=1024]`
 *
 * Memory over a long run: publishes `messages` messages through node 2 (as
 * fast as it acknowledges them, as the throughput phase of bench:node does),
 * and compares every node's resident set size at the first tenth with its size
 * at the end. Message state expires, so the second should be within a few
 * percent of the first. Each is the median of RSS read every second while
 * the last `messages / 20` messages of its stretch go through (messages 5,000
 * to 10,000 and 95,000 to 100,000 by default): a single reading lands
 * anywhere in a garbage-collection cycle, and V8's heap alone swings by a
 * third of RSS between collections under load, so two single readings
 * compare moments, not what the node keeps; the median over the same number
 * of messages, under the same traffic, at both ends does not (and a leak
 * moves it as much as a single reading). Beside RSS it reads each node's V8 heap in use,
 * external (Buffer) memory and message states from /metrics; these are read
 * without forcing a collection, so they include garbage not yet collected:
 * a heap that grows between the readings is a leak only if a heap snapshot
 * (`NODE_OPTIONS=--heapsnapshot-signal=SIGUSR2`) after a GC grows too. The
 * last line is one JSON object; exit status 1 when a delivery went missing.
 */
const FLAGS = {
  mode: stringFlag('optimum', 'NODE_MODE to run: optimum or gossipsub'),
  nodes: intFlag(4, 'node processes'),
  messages: intFlag(100_000, 'messages in total; RSS is compared over the twentieth before the tenth and the twentieth before the end'),
  size: intFlag(1024, 'message size in bytes'),
}
const { values } = parseFlagsOrExit(FLAGS, process.argv.slice(2), 'bench:soak')
const mode = values.mode as NodeMode
const WAIT_MS = 120_000
const RSS_SAMPLE_MS = 1000
const began = performance.now()
const say = (line: string): void => {
  process.stdout.write(`[soak ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
}
process.on('exit', killAllNodesNow)

const dir = await mkdtemp(path.join(os.tmpdir(), 'optimum-soak-'))
await mkdir(path.join(dir, 'run'))
// The nodes run on the allocator `npm start` and the Docker image give them (jemalloc where installed).
const cluster = await Cluster.start({ mode, size: values.nodes, dir: path.join(dir, 'run'), env: {} })
const n = cluster.nodes.length
const tracker = new DeliveryTracker(n)
const taps = cluster.nodes.map((node) => new SidecarTap(node, tracker.record))
const mib = (bytes: number | undefined): number | null => (bytes === undefined ? null : round(bytes / 1024 / 1024, 1))
let missing = 0
try {
  await cluster.waitForPeers(Math.min(6, n - 1), 60_000)
  for (const tap of taps) tap.subscribe(TOPIC)
  await cluster.waitForMesh(TOPIC, Math.min(3, n - 1), 30_000)
  const payload = randomBytes(values.size)
  const context = { tracker, publisher: taps[1]!, topic: TOPIC }
  const first = Math.round(values.messages / 10)
  const window = Math.max(1, Math.round(values.messages / 20))
  const run = async (count: number, prefix: string): Promise<void> => {
    const result = await measureThroughput(context, payload, count, PUBLISH_WINDOW, prefix, WAIT_MS)
    missing += result.missing
    say(`${count} messages in ${result.seconds.toFixed(1)} s (${round(result.msgsPerS, 1)} msg/s), missing ${result.missing}`)
  }
  /** Runs `count` messages reading every node's RSS each second; the per-node medians, and how many readings. */
  const sampled = async (count: number, prefix: string): Promise<{ rss: Array<number | undefined>; readings: number }> => {
    const readings: Array<Array<number | undefined>> = []
    const timer = setInterval(() => readings.push(cluster.rss()), RSS_SAMPLE_MS)
    try {
      await run(count, prefix)
    } finally {
      clearInterval(timer)
    }
    readings.push(cluster.rss())
    const rss = cluster.nodes.map((_, i) => percentile(readings.flatMap((r) => (r[i] === undefined ? [] : [r[i]!])), 50))
    return { rss, readings: readings.length }
  }
  // Where the memory is (V8 heap, buffers, core state), to tell a leak from a cache that is still filling.
  const gauges = async (): Promise<MemoryGauges[]> => Promise.all(cluster.nodes.map((node) => memoryGauges(node)))
  const show = (g: MemoryGauges[]): string => g.map((x) => `heap ${mib(x.heap_used)} ext ${mib(x.external)} states ${x.message_states ?? '-'}`).join(' | ')
  await run(first - window, 'soak-a')
  const early = await sampled(window, 'soak-a-rss')
  const earlyGauges = await gauges()
  say(`RSS over messages ${first - window}-${first} (median of ${early.readings}): ${early.rss.map(mib).join(', ')} MiB (${show(earlyGauges)})`)
  await run(values.messages - first - window, 'soak-b')
  const late = await sampled(window, 'soak-b-rss')
  const lateGauges = await gauges()
  say(`RSS over messages ${values.messages - window}-${values.messages} (median of ${late.readings}): ${late.rss.map(mib).join(', ')} MiB (${show(lateGauges)})`)
  const growth = late.rss.map((bytes, i) => (bytes === undefined || early.rss[i] === undefined ? null : round(bytes / early.rss[i]! - 1, 3)))
  const worst = Math.max(...growth.map((g) => g ?? 0))
  process.stdout.write(
    `${JSON.stringify({
      mode,
      nodes: n,
      messages: values.messages,
      size: values.size,
      rss_window_messages: window,
      rss_mib_early: early.rss.map(mib),
      rss_mib_late: late.rss.map(mib),
      rss_growth: growth,
      rss_growth_max: worst,
      heap_mib_early: earlyGauges.map((g) => mib(g.heap_used)),
      heap_mib_late: lateGauges.map((g) => mib(g.heap_used)),
      missing,
    })}\n`,
  )
} finally {
  for (const tap of taps) tap.close()
  await cluster.stop()
  await rm(dir, { recursive: true, force: true })
}
process.exitCode = missing > 0 ? 1 : 0
