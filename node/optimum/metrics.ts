import { Counter, Histogram, type Registry } from 'prom-client'
import type { AdapterMetrics } from './adapter.js'
import type { Rpc, TraceEvent } from './types.js'

/** Messages whose first shard arrived but that have not decoded yet, tracked for the decode-time histogram. */
const MAX_PENDING = 10_000

/**
 * What optimum mode adds to the node's Prometheus registry. It learns
 * everything from the core's trace events and the frames the adapter sends,
 * so the core stays free of metrics code.
 */
export class OptimumMetrics implements AdapterMetrics {
  private readonly received: Counter<'result'>
  private readonly decodeSeconds: Histogram
  private readonly idontwant: Counter
  private readonly shardsSent: Counter<'role'>
  private readonly violations: Counter<'reason'>
  private readonly rejected: Counter<'reason'>
  /** message id → when its first shard arrived (ms, the core's clock). */
  private readonly firstShard = new Map<string, number>()

  constructor(registry: Registry) {
    const registers = [registry]
    this.received = new Counter({
      name: 'optimum_node_shards_received_total',
      help: 'Coded shards received, by what they did: innovative (raised the rank) or redundant (duplicate, unhelpful or unnecessary)',
      labelNames: ['result'],
      registers,
    })
    this.decodeSeconds = new Histogram({
      name: 'optimum_node_decode_seconds',
      help: 'From the first shard of a message to its decoded delivery',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })
    this.idontwant = new Counter({
      name: 'optimum_node_idontwant_sent_total',
      help: 'Message ids sent in IDONTWANT (per peer they went to)',
      registers,
    })
    this.shardsSent = new Counter({
      name: 'optimum_node_shards_sent_total',
      help: 'Coded shards sent: publisher (encoded here) or relay (recoded or forwarded)',
      labelNames: ['role'],
      registers,
    })
    this.violations = new Counter({
      name: 'optimum_node_wire_violations_total',
      help: 'Frames from peers that broke the wire rules',
      labelNames: ['reason'],
      registers,
    })
    this.rejected = new Counter({
      name: 'optimum_node_messages_rejected_total',
      help: 'Messages discarded: bad signature, hash mismatch or corrupt frame',
      labelNames: ['reason'],
      registers,
    })
    for (const result of ['innovative', 'duplicate', 'unhelpful', 'unnecessary']) this.received.inc({ result }, 0)
  }

  trace(event: TraceEvent): void {
    switch (event.kind) {
      case 'new_shard':
        this.received.inc({ result: 'innovative' })
        if (event.messageId !== undefined && !this.firstShard.has(event.messageId)) {
          if (this.firstShard.size >= MAX_PENDING) this.firstShard.delete(this.firstShard.keys().next().value!)
          this.firstShard.set(event.messageId, event.at)
        }
        break
      case 'duplicate_shard':
        this.received.inc({ result: 'duplicate' })
        break
      case 'unhelpful_shard':
        this.received.inc({ result: 'unhelpful' })
        break
      case 'unnecessary_shard':
        this.received.inc({ result: 'unnecessary' })
        break
      case 'deliver': {
        const first = event.messageId === undefined ? undefined : this.firstShard.get(event.messageId)
        if (first !== undefined) {
          this.decodeSeconds.observe(Math.max(0, event.at - first) / 1000)
          this.firstShard.delete(event.messageId!)
        }
        break
      }
      case 'reject':
        this.rejected.inc({ reason: event.reason ?? 'unknown' })
        if (event.messageId !== undefined) this.firstShard.delete(event.messageId)
        break
      default:
    }
  }

  sent(rpc: Rpc): void {
    const ids = rpc.control?.idontwant?.length ?? 0
    if (ids > 0) this.idontwant.inc(ids)
    for (const shard of rpc.shards ?? []) this.shardsSent.inc({ role: shard.hop === 0 ? 'publisher' : 'relay' })
  }

  violation(reason: string): void {
    this.violations.inc({ reason })
  }
}
