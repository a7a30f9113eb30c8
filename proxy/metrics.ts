import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Read at scrape time from the objects that hold the values. */
export interface ProxyMetricSources {
  nodesUp(): number
  connections(): { websocket: number; grpc: number }
}

/**
 * What a proxy replica reports on `GET /metrics`. One registry per replica
 * (tests run two in one process, so nothing is registered globally).
 */
export class ProxyMetrics {
  readonly registry = new Registry()
  readonly requests: Counter<'route' | 'status'>
  readonly published: Counter<'status'>
  readonly delivered: Counter<'transport'>
  readonly slowConsumers: Counter<'transport'>
  readonly arrivals: Counter<'node'>
  readonly nodePublish: Histogram<'node'>

  constructor(sources: ProxyMetricSources, labels: Record<string, string> = {}) {
    const registers = [this.registry]
    this.registry.setDefaultLabels(labels)
    collectDefaultMetrics({ register: this.registry, prefix: 'optimum_proxy_' })
    this.requests = new Counter({
      name: 'optimum_proxy_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers,
    })
    this.published = new Counter({
      name: 'optimum_proxy_publishes_total',
      help: 'Client publishes by outcome (published, deduplicated, refused, failed)',
      labelNames: ['status'],
      registers,
    })
    this.delivered = new Counter({
      name: 'optimum_proxy_deliveries_total',
      help: 'Messages written to clients, by transport',
      labelNames: ['transport'],
      registers,
    })
    this.slowConsumers = new Counter({
      name: 'optimum_proxy_slow_consumer_disconnects_total',
      help: 'Client connections closed because they fell more than PROXY_CLIENT_BUFFER_BYTES behind',
      labelNames: ['transport'],
      registers,
    })
    this.arrivals = new Counter({
      name: 'optimum_proxy_node_arrivals_total',
      help: 'Messages the nodes delivered to this replica, by node',
      labelNames: ['node'],
      registers,
    })
    this.nodePublish = new Histogram({
      name: 'optimum_proxy_node_publish_seconds',
      help: 'Time a node took to ack a publish (the unary Publish call), by node',
      labelNames: ['node'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    new Gauge({
      name: 'optimum_proxy_nodes_up',
      help: 'P2P nodes this replica has a live sidecar stream to',
      registers,
      collect() {
        this.set(sources.nodesUp())
      },
    })
    new Gauge({
      name: 'optimum_proxy_client_connections',
      help: 'Open client connections on this replica, by transport',
      labelNames: ['transport'],
      registers,
      collect() {
        const { websocket, grpc } = sources.connections()
        this.set({ transport: 'websocket' }, websocket)
        this.set({ transport: 'grpc' }, grpc)
      },
    })
  }
}
