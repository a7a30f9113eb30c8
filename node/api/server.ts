import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import type { NodeConfig } from '../../common/config/index.js'
import { closeGracefully, listen } from '../../common/http-server.js'
import type { Logger } from '../../common/logger.js'
import type { VersionInfo } from '../../common/version.js'
import type { NodeMetrics } from '../metrics.js'
import { ListenError } from '../startup-failure.js'
import type { NodeView } from '../node-view.js'
import type { UsageSampler } from '../system-stats.js'
import type { P2pSnapshot } from '../trace/snapshot.js'
import { createApiRouter } from './routes.js'

export interface ApiServerOptions {
  view: NodeView
  metrics: NodeMetrics
  version: VersionInfo
  /** A SystemStats (shared with the sidecar's Health RPC). */
  stats: UsageSampler
  log: Logger
  host: string
  /** 0 picks a free port; start() returns the bound one. */
  port: number
  /** Served by /api/v1/config. */
  config?: NodeConfig
  /** Served by /api/v1/p2p-snapshot. */
  snapshot?: () => P2pSnapshot
  /** How long stop() lets in-flight requests finish before cutting their connections. Default 2000 ms. */
  stopGraceMs?: number
}

const DEFAULT_STOP_GRACE_MS = 2000

/** The node's HTTP API on API_PORT: health, node state, version, topics and Prometheus metrics. */
export class ApiServer {
  private readonly app: Koa
  private server: http.Server | undefined

  constructor(private readonly options: ApiServerOptions) {
    this.app = createApiApp(options)
  }

  /** Listens and resolves with the bound port; rejects (e.g. EADDRINUSE) without leaving a server behind. */
  async start(): Promise<number> {
    if (this.server) throw new Error('ApiServer already started')
    const { host, port, log } = this.options
    const server = http.createServer(this.app.callback())
    this.server = server
    try {
      await listen(server, host, port)
    } catch (err) {
      this.server = undefined
      throw new ListenError('api', host, port, err)
    }
    server.on('error', (err) => log.error({ err }, 'HTTP API server error'))
    const bound = (server.address() as AddressInfo).port
    log.info({ host, port: bound }, 'HTTP API listening')
    return bound
  }

  /**
   * Stops accepting, closes idle keep-alive connections at once, and after the
   * grace period destroys whatever is still open; resolves when the port is free.
   */
  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    await closeGracefully(server, this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS)
    this.options.log.info('HTTP API stopped')
  }
}

/** The Koa app: JSON errors for everything that is not a route's own answer. */
export function createApiApp(options: Omit<ApiServerOptions, 'host' | 'port' | 'stopGraceMs'>): Koa {
  const { log } = options
  const app = new Koa()
  // Errors after the response started (e.g. a client hanging up) reach here; having a listener also
  // keeps Koa from printing them to stderr.
  app.on('error', (err: unknown) => log.warn({ err }, 'HTTP API response error'))

  const router = createApiRouter(options)
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      const status = clientErrorStatus(err)
      if (status !== undefined) {
        ctx.status = status
        ctx.body = { error: (err as Error).message }
        return
      }
      log.error({ err, method: ctx.method, path: ctx.path }, 'HTTP API request failed')
      ctx.status = 500
      ctx.body = { error: 'internal error' }
      return
    }
    if (ctx.body !== undefined && ctx.body !== null) return
    if (ctx.status === 404) {
      ctx.status = 404
      ctx.body = { error: 'not found' }
    } else if (ctx.status === 405) {
      ctx.body = { error: 'method not allowed' }
    }
  })
  app.use(router.routes())
  app.use(router.allowedMethods())
  return app
}

/** A 4xx that Koa/http-errors marked safe to show (none of our routes throw one today). */
function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined
  const { status, expose } = err as { status?: unknown; expose?: unknown }
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true ? status : undefined
}
