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

export class NodeMetrics {
  readonly registry = new Registry()
  readonly published: Counter<'topic'>
  readonly delivered: Counter<'topic'>
  readonly sidecarStreams: Gauge
  readonly queueDrops: Counter<'topic'>

  constructor(sources: MetricSources, labels: Record<string, string> = {}) {
    const registers = [this.registry]
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
      help: 'Mesh peers per topic',
      labelNames: ['topic'],
      registers,
      collect() {
        this.reset()
        for (const [topic, size] of sources.meshSizes()) this.set({ topic }, size)
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
