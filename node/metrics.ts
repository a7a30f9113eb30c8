import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * What the node reports to Prometheus. One registry per node (tests run many
 * nodes in one process, so nothing is registered globally). Gauges whose value
 * lives elsewhere (peers, mesh sizes) are read at scrape time through `sources`.
 */
export interface MetricSources {
  peerCount(): number
  meshSizes(): Map<string, number>
  /** Total bytes this node has sent and received over libp2p connections. */
  transfer(): { sent: number; received: number }
}

export interface NodeMetricsOptions {
  /** Topics that get their own series (METRICS_MAX_TOPICS, default 256); the others share topic="other". */
  maxTopics?: number
}

/** The label that topics past the cap share. */
export const OTHER_TOPIC = 'other'

/**
 * Series labelled by topic, where clients choose the topic names: the first
 * `max` distinct names get their own label, every later one is counted under
 * `other`, so a client cannot grow the node's series (and Prometheus's) without
 * bound. The names admitted stay admitted for the node's life.
 */
export class TopicLabels {
  private readonly admitted = new Set<string>()

  constructor(private readonly max: number) {}

  label(topic: string): string {
    if (this.admitted.has(topic)) return topic
    if (this.admitted.size >= this.max) return OTHER_TOPIC
    this.admitted.add(topic)
    return topic
  }
}

export class NodeMetrics {
  readonly registry = new Registry()
  /** Use `topicLabel(topic)` as the `topic` label of every series below. */
  private readonly topics: TopicLabels
  readonly published: Counter<'topic'>
  readonly delivered: Counter<'topic'>
  readonly sidecarStreams: Gauge
  readonly queueDrops: Counter<'topic'>
  readonly traceDrops: Counter<'topic'>

  /** The `topic` label for `topic`: itself, or `other` past the cap. */
  topicLabel(topic: string): string {
    return this.topics.label(topic)
  }

  constructor(sources: MetricSources, labels: Record<string, string> = {}, options: NodeMetricsOptions = {}) {
    const registers = [this.registry]
    const topics = (this.topics = new TopicLabels(options.maxTopics ?? 256))
    this.registry.setDefaultLabels(labels)
    collectDefaultMetrics({ register: this.registry, prefix: 'optimum_node_' })

    this.published = new Counter({
      name: 'optimum_node_messages_published_total',
      help: 'Messages published into the network through this node',
      labelNames: ['topic'],
      registers,
    })
    this.delivered = new Counter({
      name: 'optimum_node_messages_delivered_total',
      help: 'Messages this node delivered to its local subscribers',
      labelNames: ['topic'],
      registers,
    })
    this.sidecarStreams = new Gauge({
      name: 'optimum_node_sidecar_streams',
      help: 'Open sidecar ListenCommands streams',
      registers,
    })
    this.queueDrops = new Counter({
      name: 'optimum_node_sidecar_queue_drops_total',
      help: 'Messages dropped because a sidecar stream queue was full (the oldest queued message goes)',
      labelNames: ['topic'],
      registers,
    })
    this.traceDrops = new Counter({
      name: 'optimum_node_sidecar_trace_drops_total',
      help: 'Trace events dropped because a tracing sidecar stream did not keep up (the oldest queued event goes)',
      labelNames: ['topic'],
      registers,
    })
    new Gauge({
      name: 'optimum_node_peers',
      help: 'Connected libp2p peers',
      registers,
      collect() {
        this.set(sources.peerCount())
      },
    })
    new Gauge({
      name: 'optimum_node_mesh_peers',
      help: 'Mesh peers per topic (topics past METRICS_MAX_TOPICS summed under topic="other")',
      labelNames: ['topic'],
      registers,
      collect() {
        this.reset()
        const sizes = new Map<string, number>()
        for (const [topic, size] of sources.meshSizes()) {
          const label = topics.label(topic)
          sizes.set(label, (sizes.get(label) ?? 0) + size)
        }
        for (const [topic, size] of sizes) this.set({ topic }, size)
      },
    })
    new Counter({
      name: 'optimum_node_bytes_sent_total',
      help: 'Bytes sent over libp2p connections since start',
      registers,
      collect() {
        this.reset()
        this.inc(sources.transfer().sent)
      },
    })
    new Counter({
      name: 'optimum_node_bytes_received_total',
      help: 'Bytes received over libp2p connections since start',
      registers,
      collect() {
        this.reset()
        this.inc(sources.transfer().received)
      },
    })
  }
}
