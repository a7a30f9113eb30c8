import type { ProxyConfig } from '../common/config/index.js'
import type { Logger } from '../common/logger.js'
import type { SidecarResponse } from '../common/proto.js'
import { readVersionInfo, type VersionInfo } from '../common/version.js'
import { DeliveryHub } from './delivery/hub.js'
import { GrpcServer } from './grpc/server.js'
import { HttpServer } from './http/server.js'
import { ProxyMetrics } from './metrics.js'
import { NodePool } from './nodes/node-pool.js'
import { Partners } from './partners.js'
import { ClientApi } from './service/client-api.js'
import { createRedisStore } from './store/redis-store.js'
import { SubscriptionWatch } from './store/watch.js'
import { startObservers } from './ui/observers.js'
import { WsServer } from './ws/server.js'

export interface RunningProxy {
  readonly ports: { http: number; grpc: number }
  /** Stops the servers, the node links and the store; safe to call twice. */
  stop(): Promise<void>
}

/**
 * One proxy replica from its config: the Redis store, links to every node,
 * the delivery hub, and the client edges (REST + WebSocket on PROXY_PORT,
 * gRPC on PROXY_GRPC_PORT). It holds nothing another replica could not
 * rebuild from Redis. Ports of 0 pick free ones.
 */
export async function startProxy(config: ProxyConfig, log: Logger, version: VersionInfo = readVersionInfo()): Promise<RunningProxy> {
  const stack: Array<() => Promise<void> | void> = []
  const stop = async (): Promise<void> => {
    for (const step of stack.splice(0).reverse()) {
      await Promise.resolve(step()).catch((err: unknown) => log.warn({ err }, 'error while stopping'))
    }
  }
  try {
    const store = createRedisStore({
      url: config.redisUrl,
      mode: config.redisMode,
      prefix: config.redisPrefix,
      messageTtlSeconds: config.messageTtlSeconds,
      streamMaxLength: config.streamMaxLength,
      streamMaxAgeSeconds: config.streamMaxAgeSeconds,
      logger: log.child({ part: 'store' }),
    })
    stack.push(() => store.close())

    // Gauges read these at scrape time, once everything below exists.
    const metrics = new ProxyMetrics(
      {
        nodesUp: () => pool.status().filter((n) => n.state === 'up').length,
        connections: () => ({ websocket: ws.connections, grpc: grpcServer.connections }),
      },
      config.clusterId ? { cluster_id: config.clusterId } : {},
    )
    const watch = new SubscriptionWatch({ store, logger: log.child({ part: 'watch' }) })
    // Before the node links: a delivery may prime the hub's tails as soon as a link is up.
    const hub = new DeliveryHub({ store, nodeCount: config.p2pNodes.length, watch, logger: log })
    const pool = new NodePool({
      nodes: config.p2pNodes,
      log: log.child({ part: 'nodes' }),
      publishTimeoutMs: config.edge.publishTimeoutMs,
      onDelivery: async (arrival) => {
        metrics.arrivals.inc({ node: arrival.node })
        observers.onArrival(arrival)
        hub.arrived(arrival, await store.recordArrival(arrival))
      },
      onPublished: (node, seconds) => metrics.nodePublish.observe({ node }, seconds),
      ...(config.traces ? { onTrace: (response: SidecarResponse) => observers.onTrace(response) } : {}),
      ...(config.nodeToken !== undefined && { token: config.nodeToken }),
    })
    const observers = startObservers(config, store, () => pool.status(), log)
    stack.push(() => observers.stop())
    pool.start()
    stack.push(() => pool.stop())

    watch.on('topics', (topics) => pool.setTopics(topics))
    watch.on('clients', observers.onClients)
    await watch.start()
    stack.push(() => watch.stop())

    const ports = { http: config.httpPort, grpc: config.grpcPort }
    const partners = new Partners(config, store, log, () => [ports.http, ports.grpc])
    stack.push(() => partners.close())
    const auth = partners.auth
    partners.registerMetrics(metrics.registry)
    const ws: WsServer = new WsServer({ hub, auth, metrics, log: log.child({ part: 'ws' }), bufferBytes: config.edge.clientBufferBytes })
    stack.push(() => ws.close())
    // Runs before the sockets close: the hub stores every connection's cursor and says `shutdown`.
    stack.push(() => hub.close())

    partners.startWebhooks(hub)
    const api = new ClientApi(store, partners.durable(pool), config.edge, log.child({ part: 'api' }))
    const grpcServer: GrpcServer = new GrpcServer({
      api,
      hub,
      auth,
      metrics,
      log: log.child({ part: 'grpc' }),
      bufferBytes: config.edge.clientBufferBytes,
      host: config.listenHost,
      port: config.grpcPort,
      nodes: () => pool.status(),
    })
    const http = new HttpServer({
      api,
      auth,
      store,
      partners,
      nodes: () => pool.status(),
      connections: () => ({ websocket: ws.connections, grpc: grpcServer.connections }),
      version,
      metrics,
      log: log.child({ part: 'http' }),
      host: config.listenHost,
      port: config.httpPort,
      onUpgrade: ws.handleUpgrade,
      extend: observers.routes,
    })
    const httpPort = (ports.http = await http.start())
    stack.push(() => http.stop())
    const grpcPort = (ports.grpc = await grpcServer.start())
    stack.push(() => grpcServer.stop())

    return { ports: { http: httpPort, grpc: grpcPort }, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
