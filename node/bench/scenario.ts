import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { Cluster } from './cluster.js'
import { DeliveryTracker } from './deliveries.js'
import type { MessageSize } from './options.js'
import { measureLatency, measureThroughput, type PhaseContext } from './phases.js'
import { SidecarTap } from './sidecar-tap.js'
import { percentile, round } from './stats.js'

export const TOPIC = 'optimum-bench'
/** Unary publishes in flight during the throughput phase. */
export const PUBLISH_WINDOW = 64

const PEERS_TIMEOUT_MS = 60_000
const MESH_TIMEOUT_MS = 30_000
/** Per message in the latency phase; a message slower than this counts as lost. */
const LATENCY_TIMEOUT_MS = 10_000
/** After the last acknowledged publish of the throughput phase. */
const THROUGHPUT_WAIT_MS = 60_000
/**
 * Libp2p bytes per second per node below which the network counts as quiet:
 * heartbeats and pings, no message traffic and no gossip about recent ids.
 */
const QUIET_BYTES_PER_S = 16 * 1024
const QUIET_SAMPLE_MS = 500
const QUIET_TIMEOUT_MS = 30_000

/** One (mode, node count, size) cell of the report. */
export interface SizeResult {
  p50_ms: number | null
  p99_ms: number | null
  msgs_per_s: number | null
  /** Bytes all nodes sent during the latency phase ÷ nodes ÷ messages ÷ message size. */
  amplification: number
  bytes_sent_total: number
  /** Latency-phase messages that did not reach every node in time. */
  lost: number
  /** Throughput-phase (message, node) deliveries that never came. */
  missing: number
}

export interface ScenarioOptions {
  sizes: MessageSize[]
  /** Unmeasured messages per size before its latency phase (connection streams, JIT, buffers). */
  warmup: number
  progress: (line: string) => void
}

/**
 * Waits until the traffic of the previous phase has died down: the last
 * delivery is not the last byte (duplicates still in flight, nodes still
 * working through backlogs, gossip about recent ids for a few heartbeats),
 * and what is left would slow the next phase and count in its bytes.
 * Resolves with the seconds waited, or undefined if it never got quiet.
 */
async function waitForQuiet(cluster: Cluster): Promise<number | undefined> {
  const start = performance.now()
  const total = async (): Promise<number> => (await cluster.bytesSent()).reduce((sum, value) => sum + value, 0)
  let before = await total()
  let since = performance.now()
  for (;;) {
    await delay(QUIET_SAMPLE_MS)
    const after = await total()
    const now = performance.now()
    if ((after - before) / ((now - since) / 1000) / cluster.nodes.length < QUIET_BYTES_PER_S) return (now - start) / 1000
    if (now - start > QUIET_TIMEOUT_MS) return undefined
    before = after
    since = now
  }
}

/**
 * Measures one running cluster: waits for the network to form, taps every
 * node's sidecar, then runs the latency phase of every size and after them
 * the throughput phase of every size, each on a quiet network. Latency comes
 * first: a throughput phase leaves the most behind.
 */
export async function runScenario(cluster: Cluster, options: ScenarioOptions): Promise<Record<string, SizeResult>> {
  const n = cluster.nodes.length
  const { progress } = options
  await cluster.waitForPeers(Math.min(6, n - 1), PEERS_TIMEOUT_MS)
  progress(`every node has at least ${Math.min(6, n - 1)} peers`)

  const tracker = new DeliveryTracker(n)
  const taps = cluster.nodes.map((node) => new SidecarTap(node, tracker.record))
  try {
    for (const tap of taps) tap.subscribe(TOPIC)
    await cluster.waitForMesh(TOPIC, Math.min(3, n - 1), MESH_TIMEOUT_MS)
    progress(`every node has at least ${Math.min(3, n - 1)} mesh peers on "${TOPIC}"`)
    const context: PhaseContext = { tracker, publisher: taps[1]!, topic: TOPIC }
    const checkNodes = (): void => {
      const exited = cluster.exitedNode()
      if (exited) throw exited
    }
    const settle = async (phase: string): Promise<void> => {
      checkNodes()
      const seconds = await waitForQuiet(cluster)
      if (seconds === undefined) {
        const level = `${QUIET_BYTES_PER_S / 1024} KiB/s per node after ${QUIET_TIMEOUT_MS / 1000} s`
        progress(`warning: traffic from the previous phase still above ${level}; ${phase} starts anyway`)
      } else if (seconds > 1) {
        progress(`network quiet after ${seconds.toFixed(1)} s`)
      }
    }

    const results: Record<string, SizeResult> = {}
    for (const size of options.sizes) {
      const payload = randomBytes(size.bytes)
      await settle(`${size.label} latency`)
      await measureLatency(context, payload, options.warmup, `warmup-${size.label}`, LATENCY_TIMEOUT_MS)
      const before = await cluster.bytesSent()
      const latency = await measureLatency(context, payload, size.latencyCount, `latency-${size.label}`, LATENCY_TIMEOUT_MS)
      const after = await cluster.bytesSent()
      const bytes = after.reduce((sum, value, i) => sum + value - before[i]!, 0)
      const p50 = percentile(latency.samplesMs, 50)
      const p99 = percentile(latency.samplesMs, 99)
      results[size.label] = {
        p50_ms: p50 === undefined ? null : round(p50, 2),
        p99_ms: p99 === undefined ? null : round(p99, 2),
        msgs_per_s: null,
        amplification: round(bytes / n / size.latencyCount / size.bytes, 3),
        bytes_sent_total: bytes,
        lost: latency.lost,
        missing: 0,
      }
      const cell = results[size.label]!
      progress(
        `${size.label} latency: p50 ${cell.p50_ms} ms, p99 ${cell.p99_ms} ms, lost ${latency.lost}/${size.latencyCount}; ` +
          `amplification ${cell.amplification} (${bytes} bytes sent)`,
      )
      if (latency.firstError) progress(`${size.label} latency: ${latency.firstError}`)
    }

    for (const size of options.sizes) {
      const payload = randomBytes(size.bytes)
      await settle(`${size.label} throughput`)
      const throughput = await measureThroughput(
        context,
        payload,
        size.throughputCount,
        PUBLISH_WINDOW,
        `throughput-${size.label}`,
        THROUGHPUT_WAIT_MS,
      )
      const cell = results[size.label]!
      cell.msgs_per_s = round(throughput.msgsPerS, 1)
      cell.missing = throughput.missing
      progress(
        `${size.label} throughput: ${size.throughputCount} messages in ${throughput.seconds.toFixed(2)} s = ` +
          `${cell.msgs_per_s} msg/s, missing ${throughput.missing}/${size.throughputCount * n} deliveries`,
      )
      if (throughput.firstError) progress(`${size.label} throughput: ${throughput.firstError}`)
    }

    checkNodes()
    if (tracker.duplicates > 0) {
      progress(`warning: ${tracker.duplicates} duplicate deliveries (a node delivered a message id twice)`)
    }
    for (const problem of taps.flatMap((tap) => tap.problems)) progress(`warning: ${problem}`)
    return results
  } finally {
    for (const tap of taps) tap.close()
  }
}
