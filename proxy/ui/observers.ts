import type Router from '@koa/router'
import type { ProxyConfig } from '../../common/config/index.js'
import type { Logger } from '../../common/logger.js'
import { ResponseType, type SidecarResponse } from '../../common/proto.js'
import { decodeTraceEvent, type TraceRecord } from '../../common/trace-codec.js'
import type { NodeStatus } from '../nodes/node-pool.js'
import { connect } from '../store/redis-store.js'
import type { Arrival, ProxyStore, SubscriptionChange } from '../store/store.js'
import { addTracerRoutes } from '../tracer/routes.js'
import { ClusterTracer } from '../tracer/tracer.js'
import { LiveFeed } from './feed.js'
import { LiveState } from './live-state.js'
import { addUiRoutes } from './routes.js'

export interface Observers {
  /** For NodePool's onTrace. */
  onTrace(response: SidecarResponse): void
  /** For every receipt (NodePool's onDelivery). */
  onArrival(arrival: Arrival): void
  /** For SubscriptionWatch's `clients` event. */
  onClients(changes: SubscriptionChange[]): void
  /** The tracer and live-view routes (HttpServer's `extend`). */
  routes(router: Router): void
  stop(): Promise<void>
}

/**
 * What watches the network on a proxy replica, wired once: the cluster
 * tracer (proxy/tracer, with a Redis connection of its own) and the live view
 * (its state, its feed, its page). `nodes` is read lazily, so the node pool
 * may be built after this and given `onTrace` / `onArrival`.
 */
export function startObservers(config: ProxyConfig, store: Pick<ProxyStore, 'clientTopics'>, nodes: () => NodeStatus[], log: Logger): Observers {
  const redis = connect(config.redisUrl, config.redisMode)
  redis.on('error', () => {}) // the tracer logs its own failures, once per episode
  const tracer = new ClusterTracer({ client: redis, prefix: config.redisPrefix, log: log.child({ part: 'tracer' }), nodes })
  const live = new LiveState({ nodes, store, log: log.child({ part: 'live' }) })
  const feed = new LiveFeed(live, (window) => tracer.snapshot(window), log.child({ part: 'live' }))
  tracer.start()
  live.start()
  feed.start()
  return {
    onTrace(response) {
      // Decoded once for both readers: a node sends one of these per shard it handles.
      let event: TraceRecord
      try {
        event = decodeTraceEvent(response.data)
      } catch {
        return // not a trace we can read: ignored
      }
      tracer.onTrace(event, response.command === ResponseType.MessageTraceGossipSub ? 'gossipsub' : 'optimum')
      live.onTrace(event)
    },
    onArrival(arrival) {
      tracer.onArrival(arrival)
      live.onArrival(arrival)
    },
    onClients: live.onClients,
    routes(router) {
      addTracerRoutes(router, tracer)
      addUiRoutes(router, feed)
    },
    async stop() {
      feed.stop()
      live.stop()
      await tracer.stop()
      redis.disconnect()
    },
  }
}
