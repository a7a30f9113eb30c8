import Router from '@koa/router'
import type Koa from 'koa'
import { OptimumError } from '../../common/errors.js'
import type { VersionInfo } from '../../common/version.js'
import type { ProxyMetrics } from '../metrics.js'
import type { NodeStatus } from '../nodes/node-pool.js'
import type { Partners } from '../partners.js'
import type { ClientAuth } from '../service/auth.js'
import { TOPIC_NOT_ASSIGNED, type ClientApi } from '../service/client-api.js'
import type { ProxyStore } from '../store/store.js'
import { readJsonObject } from './body.js'
import { SEED_FAMILY, V1_FAMILY, type RouteFamily } from './families.js'
import { parsePublish, parseSubscribe, parseUnsubscribe, parseWebhook } from './requests.js'
import { readUsage } from './usage.js'

export interface RouteDeps {
  api: ClientApi
  auth: ClientAuth
  store: Pick<ProxyStore, 'ping' | 'stats'>
  /** Webhook subscriptions and the durable-publish and webhook figures of /api/v1/state. */
  partners: Pick<Partners, 'webhooks' | 'state'>
  nodes(): NodeStatus[]
  connections(): { websocket: number; grpc: number }
  version: VersionInfo
  metrics: ProxyMetrics
  /** More routes (the tracer, the live view), added after the ones above. */
  extend?(router: Router): void
}

/** Room for a maximum-size message written as a JSON string (escapes), and the other fields. */
export function bodyLimit(maxMessageSize: number): number {
  return 2 * maxMessageSize + 64 * 1024
}

/** Every REST route of the proxy: both published generations, then ours. The WebSocket paths are served by the upgrade handler. */
export function createProxyRouter(deps: RouteDeps): Router {
  const router = new Router()
  for (const family of [SEED_FAMILY, V1_FAMILY]) addClientRoutes(router, family, deps)
  addV1Routes(router, deps)
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType
    ctx.body = await deps.metrics.registry.metrics()
  })
  deps.extend?.(router)
  return router
}

function addClientRoutes(router: Router, family: RouteFamily, deps: RouteDeps): void {
  const { api } = deps
  const limit = bodyLimit(api.maxMessageSize)
  router.post(`${family.prefix}/subscribe`, async (ctx) => {
    const body = await readJsonObject(ctx.req, limit)
    const { clientId, topic, threshold } = parseSubscribe(body, family, api.defaultThreshold)
    const webhook = parseWebhook(body)
    await authorize(ctx, deps.auth, clientId)
    if (webhook) await deps.partners.webhooks.check(webhook)
    await api.subscribe(clientId, [topic], threshold)
    if (webhook) await deps.partners.webhooks.subscribe(clientId, topic, threshold, webhook)
    ctx.body = family.subscribed(clientId, topic, threshold)
  })
  router.post(`${family.prefix}/publish`, async (ctx) => {
    const body = await readJsonObject(ctx.req, limit)
    const input = parsePublish(body, family, api.maxMessageSize)
    await authorize(ctx, deps.auth, input.clientId, input.data.length)
    const outcome = await api.publish(input)
    deps.metrics.published.inc({ status: outcome.status })
    ctx.body = family.published(outcome.status, input.clientId, input.topic, outcome.messageId)
  })
  router.get(`${family.prefix}/ws`, (ctx) => {
    ctx.status = 426
    ctx.set('Upgrade', 'websocket')
    ctx.body = { error: 'this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)' }
  })
}

function addV1Routes(router: Router, deps: RouteDeps): void {
  const { api } = deps
  router.post('/api/v1/unsubscribe', async (ctx) => {
    const body = await readJsonObject(ctx.req, 64 * 1024)
    const { clientId, topic } = parseUnsubscribe(body, V1_FAMILY)
    await authorize(ctx, deps.auth, clientId)
    const hadWebhook = await deps.partners.webhooks.unsubscribe(clientId, topic)
    if (!(await api.unsubscribe(clientId, topic)) && !hadWebhook) throw new OptimumError('not_found', TOPIC_NOT_ASSIGNED)
    ctx.body = { status: 'unsubscribed', client_id: clientId, topic }
  })
  router.get('/api/v1/topics', async (ctx) => {
    const clientId = singleQuery(ctx, 'client_id')
    if (!clientId) throw new OptimumError('invalid_argument', V1_FAMILY.missing.clientId)
    await authorize(ctx, deps.auth, clientId)
    const topics = [...(await api.topics(clientId)).keys()].sort()
    ctx.body = { client_id: clientId, topics, count: topics.length }
  })
  router.get('/api/v1/health', async (ctx) => {
    const nodesUp = deps.nodes().filter((n) => n.state === 'up').length
    let redis = true
    try {
      await deps.store.ping()
    } catch {
      redis = false
    }
    const healthy = redis && nodesUp > 0
    ctx.status = healthy ? 200 : 503
    ctx.body = {
      status: healthy ? 'ok' : 'unavailable',
      ...(await readUsage()),
      country: '',
      country_iso: '',
      redis: redis ? 'ok' : 'unreachable',
      nodes_up: nodesUp,
      nodes: deps.nodes().length,
    }
  })
  router.get('/api/v1/version', (ctx) => {
    ctx.body = { version: deps.version.version, commit_hash: deps.version.commit_hash }
  })
  router.get('/api/v1/state', async (ctx) => {
    const stats = await deps.store.stats()
    ctx.body = {
      clients: stats.clients,
      topics: stats.topics.map((t) => ({ topic: t.topic, subscribers: t.subscribers })),
      streams: stats.topics.map((t) => ({ topic: t.topic, length: t.streamLength, last_cursor: t.lastCursor })),
      nodes: deps.nodes(),
      connections: deps.connections(),
      ...(await deps.partners.state()),
    }
  })
}

function authorize(ctx: Koa.Context, auth: ClientAuth, clientId: string, publishBytes?: number): Promise<void> {
  const authorization = ctx.get('authorization')
  return auth.check({ clientId, ...(authorization ? { authorization } : {}), ...(publishBytes === undefined ? {} : { publishBytes }) })
}

function singleQuery(ctx: Koa.Context, name: string): string | undefined {
  const value = ctx.query[name]
  return Array.isArray(value) ? value[0] : value
}
