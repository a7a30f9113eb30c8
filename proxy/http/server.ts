import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import Koa from 'koa'
import { formatHostPort } from '../../common/config/index.js'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import { retryAfterOf } from '../auth/errors.js'
import { closeGracefully, listen } from '../../common/http-server.js'
import type { Logger } from '../../common/logger.js'
import { createProxyRouter, type RouteDeps } from './routes.js'
import { HTTP_STATUS_BY_CODE } from './status.js'

/** Takes over an HTTP upgrade request (the WebSocket server). */
export type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void

export interface HttpServerOptions extends RouteDeps {
  log: Logger
  host: string
  /** 0 picks a free port; start() returns the bound one. */
  port: number
  onUpgrade: UpgradeHandler
}

const STOP_GRACE_MS = 2_000

/** The Koa app: errors as JSON `{"error": …}` with the status of their code. */
export function createHttpApp(deps: RouteDeps & { log: Logger }): Koa {
  const app = new Koa()
  app.on('error', (err: unknown) => deps.log.debug({ err }, 'HTTP response error'))
  const router = createProxyRouter(deps)
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      if (isOptimumError(err)) {
        ctx.status = HTTP_STATUS_BY_CODE[err.code]
        ctx.body = { error: err.message }
        const retryAfter = retryAfterOf(err)
        if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter))
        // A refused oversize body may still be arriving: do not keep reading it on this connection.
        if (err.code === 'too_large') ctx.set('Connection', 'close')
      } else {
        deps.log.error({ err, method: ctx.method, path: ctx.path }, 'HTTP request failed')
        ctx.status = 500
        ctx.body = { error: 'internal error' }
      }
    }
    if ((ctx.body === undefined || ctx.body === null) && (ctx.status === 404 || ctx.status === 405)) {
      const status = ctx.status // setting a body makes Koa answer 200
      ctx.body = { error: status === 404 ? 'not found' : 'method not allowed' }
      ctx.status = status
    }
    deps.metrics.requests.inc({ route: ctx._matchedRoute ? String(ctx._matchedRoute) : 'unmatched', status: String(ctx.status) })
  })
  app.use(router.routes())
  app.use(router.allowedMethods())
  return app
}

/** The proxy's HTTP port: REST routes through Koa, WebSocket upgrades to `onUpgrade`. */
export class HttpServer {
  private server: http.Server | undefined

  constructor(private readonly options: HttpServerOptions) {}

  async start(): Promise<number> {
    const { host, port, log } = this.options
    const server = http.createServer(createHttpApp(this.options).callback())
    server.on('upgrade', this.options.onUpgrade)
    await listen(server, host, port).catch((err: unknown) => {
      throw new OptimumError('unavailable', `proxy HTTP cannot listen on ${formatHostPort({ host, port })}: ${(err as Error).message}`)
    })
    server.on('error', (err) => log.error({ err }, 'HTTP server error'))
    this.server = server
    const bound = (server.address() as AddressInfo).port
    log.info({ host, port: bound }, 'HTTP listening')
    return bound
  }

  /** Stops accepting; idle connections close at once, busy ones after a grace period. */
  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    await closeGracefully(server, STOP_GRACE_MS)
  }
}
