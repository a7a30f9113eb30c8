import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { AdapterMetrics } from './adapter.js'
import type { CoreStats, TraceEvent } from './types.js'

/** Messages whose first shard arrived but that have not decoded yet, tracked for the decode-time histogram. */
const MAX_PENDING = 10_000

type StatName = keyof CoreStats

/** Core counters exported as Prometheus counters: metric name suffix, help, the stat. */
const COUNTERS: Array<[string, string, StatName]> = [
  ['shards_received_total', 'Coded shards received', 'shardsReceived'],
  ['shards_innovative_total', 'Received shards that raised the rank of their message', 'shardsInnovative'],
  ['shards_redundant_total', 'Received shards that did not help (duplicate, dependent, or for a decoded message)', 'shardsRedundant'],
  ['shards_sent_total', 'Coded shards sent', 'shardsSent'],
  ['recodes_total', 'Shards this node recoded from what it held (relays)', 'recodes'],
  ['messages_decoded_total', 'Messages decoded from shards', 'decoded'],
  ['decode_failures_total', 'Decodes discarded: bad signature, hash mismatch or corrupt frame', 'decodeFailures'],
  ['idontwant_sent_total', 'IDONTWANT ids sent', 'idontwantSent'],
  ['iwant_sent_total', 'IWANT requests sent', 'iwantSent'],
  ['ihave_sent_total', 'IHAVE announcements sent', 'ihaveSent'],
  ['owed_lost_total', 'Owed messages whose state expired before they were paid (undecoded relays only)', 'owedLost'],
  ['overdue_peers_total', 'Peers disconnected for not draining the shards owed to them', 'overduePeers'],
]
const GAUGES: Array<[string, string, StatName]> = [
  ['message_states', 'Message states held (undecoded and retained for repair)', 'messages'],
  ['undecoded_messages', 'Messages with shards but not decoded yet', 'undecoded'],
  ['undecoded_bytes', 'Decoder heap bytes held by undecoded messages', 'undecodedBytes'],
  ['retained_bytes', 'Heap bytes held by decoded and published messages kept for repair', 'retainedBytes'],
  ['deferred_messages', 'Messages waiting for a peer backlog to drain', 'deferred'],
]

/**
 * What optimum mode adds to the node's Prometheus registry: the core's own
 * counters read at scrape time, decode time from its trace events, and wire
 * violations from the adapter. The core stays free of metrics code.
 */
export class OptimumMetrics implements AdapterMetrics {
  private stats?: () => CoreStats
  private readonly decodeSeconds: Histogram
  private readonly violations: Counter<'reason'>
  /** message id → when its first shard arrived (ms, the core's clock). */
  private readonly firstShard = new Map<string, number>()

  constructor(registry: Registry) {
    const registers = [registry]
    const read = (stat: StatName): number => this.stats?.()[stat] ?? 0
    for (const [name, help, stat] of COUNTERS) {
      new Counter({
        name: `optimum_node_${name}`,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(read(stat))
        },
      })
    }
    for (const [name, help, stat] of GAUGES) {
      new Gauge({
        name: `optimum_node_${name}`,
        help,
        registers,
        collect() {
          this.set(read(stat))
        },
      })
    }
    this.decodeSeconds = new Histogram({
      name: 'optimum_node_decode_seconds',
      help: 'From the first shard of a message to its decoded delivery',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.violations = new Counter({
      name: 'optimum_node_wire_violations_total',
      help: 'Frames from peers that broke the wire rules (malformed, oversized, flooding)',
      labelNames: ['reason'],
      registers,
    })
  }

  /** The core whose stats the counters report. */
  attach(stats: () => CoreStats): void {
    this.stats = stats
  }

  trace(event: TraceEvent): void {
    const id = event.messageId
    if (id === undefined) return
    if (event.kind === 'new_shard') {
      if (this.firstShard.has(id)) return
      if (this.firstShard.size >= MAX_PENDING) this.firstShard.delete(this.firstShard.keys().next().value!)
      this.firstShard.set(id, event.at)
    } else if (event.kind === 'deliver' || event.kind === 'reject') {
      const first = this.firstShard.get(id)
      this.firstShard.delete(id)
      if (event.kind === 'deliver' && first !== undefined) this.decodeSeconds.observe(Math.max(0, event.at - first) / 1000)
    }
  }

  violation(reason: string): void {
    this.violations.inc({ reason })
  }
}
