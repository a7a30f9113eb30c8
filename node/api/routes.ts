import { METHODS } from 'node:http'
import { Router } from '@koa/router'
import type { NodeConfig } from '../../common/config/index.js'
import type { VersionInfo } from '../../common/version.js'
import type { NodeMetrics } from '../metrics.js'
import type { NodeView } from '../node-view.js'
import type { UsageSampler } from '../system-stats.js'
import type { P2pSnapshot } from '../trace/snapshot.js'
import { percent } from './format.js'

export interface ApiRouteDeps {
  view: NodeView
  metrics: NodeMetrics
  version: VersionInfo
  stats: UsageSampler
  /** The node's effective configuration, served by /api/v1/config (it holds no secrets). */
  config?: NodeConfig
  /** Served by /api/v1/p2p-snapshot. */
  snapshot?: () => P2pSnapshot
}

/**
 * The node's read-only HTTP API. Key names and order follow the published Go
 * node, whose clients parse these bodies.
 */
export function createApiRouter({ view, metrics, version, stats, config, snapshot }: ApiRouteDeps): Router {
  // Every method Node knows counts as "implemented", so a wrong one on a known path is 405, not 501.
  const router = new Router({ methods: [...METHODS] as string[] }) as Router

  router.get('/api/v1/health', async (ctx) => {
    const usage = await stats.sample()
    ctx.body = {
      cpu_used: percent(usage.cpuUsed),
      disk_used: percent(usage.diskUsed),
      memory_used: percent(usage.memoryUsed),
      mode: view.mode,
      status: 'ok',
    }
  })

  router.get('/api/v1/node-state', (ctx) => {
    ctx.body = {
      pub_key: view.peerId,
      peers: view.peers(),
      addresses: view.addresses(),
      topics: view.topics(),
    }
  })

  router.get('/api/v1/version', (ctx) => {
    ctx.body = { commit_hash: version.commit_hash, version: version.version }
  })

  // ?topic=<t> narrows the list to that topic (empty when the node is not subscribed to it).
  router.get('/api/v1/topics', (ctx) => {
    const wanted = ctx.query.topic
    const only = typeof wanted === 'string' ? wanted : Array.isArray(wanted) ? wanted[0] : undefined
    const topics = view.topics().filter((topic) => only === undefined || topic === only)
    ctx.body = { topics: topics.map((topic) => ({ topic, mesh_peers: view.meshPeers(topic) })) }
  })

  // The effective configuration: every setting after defaults and parsing. The node's config holds no secret.
  router.get('/api/v1/config', (ctx) => {
    if (config === undefined) return
    ctx.body = config
  })

  // Messages seen and decoded, shard buffers, per-peer shard figures: see node/api/README.md.
  router.get('/api/v1/p2p-snapshot', (ctx) => {
    if (snapshot === undefined) return
    ctx.body = snapshot()
  })

  router.get('/metrics', async (ctx) => {
    const text = await metrics.registry.metrics()
    ctx.set('Content-Type', metrics.registry.contentType)
    ctx.body = text
  })

  return router
}
