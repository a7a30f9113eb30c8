import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocket, WebSocketServer } from 'ws'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import type { DeliveryHub } from '../delivery/hub.js'
import { isCursor } from '../store/redis-store.js'
import type { DeliverySink } from '../delivery/types.js'
import { SEED_FAMILY, V1_FAMILY, type RouteFamily } from '../http/families.js'
import { HTTP_STATUS_BY_CODE } from '../http/status.js'
import type { ProxyMetrics } from '../metrics.js'
import type { ClientAuth } from '../service/auth.js'
import { SentTracker } from '../service/sent-tracker.js'
import { assertClientId } from '../service/validation.js'
import { WS_CLOSE, WS_CLOSE_BY_HUB_CODE } from './close-codes.js'
import { gapFrame, messageFrame } from './frames.js'

export interface WsServerOptions {
  hub: Pick<DeliveryHub, 'attach'>
  auth: ClientAuth
  metrics: ProxyMetrics
  log: Logger
  /** Unsent bytes per connection before it is closed as a slow consumer. */
  bufferBytes: number
  /** Ping period; a client that misses a whole period's pong is dropped. Default 30 s. */
  heartbeatMs?: number
}

const PATHS: ReadonlyMap<string, RouteFamily> = new Map([
  [`${SEED_FAMILY.prefix}/ws`, SEED_FAMILY],
  [`${V1_FAMILY.prefix}/ws`, V1_FAMILY],
])
/** Clients only listen; anything they send is small or a mistake. */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024
const MAX_CLOSE_REASON_BYTES = 123

/**
 * The WebSocket side of the HTTP port (`GET /api/ws`, `GET /api/v1/ws` with
 * `client_id` and optionally `since=<cursor>`): each connection is a sink of
 * the DeliveryHub. A connection whose unsent frames pass `bufferBytes` is
 * closed with 4008; its cursor covers only frames handed to the socket, so
 * the client resumes without loss.
 */
export class WsServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false })
  private readonly alive = new WeakSet<WebSocket>()
  private readonly heartbeat: NodeJS.Timeout

  constructor(private readonly options: WsServerOptions) {
    this.heartbeat = setInterval(() => this.ping(), options.heartbeatMs ?? 30_000)
    this.heartbeat.unref()
  }

  get connections(): number {
    return this.wss.clients.size
  }

  /** The HTTP server's `upgrade` listener. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy())
    const url = new URL(req.url ?? '/', 'http://proxy')
    const family = PATHS.get(url.pathname)
    if (!family) return refuse(socket, 404, 'not found')
    const clientId = url.searchParams.get('client_id') ?? ''
    const since = url.searchParams.get('since') ?? undefined
    try {
      if (clientId === '') throw new OptimumError('invalid_argument', family.missing.clientId)
      assertClientId(clientId)
      if (since !== undefined && !isCursor(since)) {
        throw new OptimumError('invalid_argument', 'since must be a cursor such as 1733090000000-0')
      }
    } catch (err) {
      return refuseError(socket, err)
    }
    // Browsers cannot set headers on a WebSocket: they may pass the token as ?token=.
    const token = url.searchParams.get('token')
    const authorization = req.headers.authorization ?? (token ? `Bearer ${token}` : undefined)
    this.options.auth.check({ clientId, ...(authorization ? { authorization } : {}) }).then(
      () => this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, clientId, since)),
      (err: unknown) => refuseError(socket, err),
    )
  }

  /** Closes every connection as going away; the hub's own close detaches them first. */
  close(): void {
    clearInterval(this.heartbeat)
    for (const ws of this.wss.clients) ws.close(WS_CLOSE.goingAway, 'proxy shutting down')
    this.wss.close()
  }

  private serve(ws: WebSocket, clientId: string, since: string | undefined): void {
    const { hub, metrics, log } = this.options
    const tracker = new SentTracker()
    let closed = false
    this.alive.add(ws)
    ws.on('pong', () => this.alive.add(ws))
    ws.on('message', () => {}) // nothing to do with client frames; maxPayload bounds them
    ws.on('error', (err) => log.debug({ clientId, err: err.message }, 'WebSocket error'))
    ws.on('close', () => {
      closed = true
      void tracker.detach().catch((err: unknown) => log.warn({ clientId, err }, 'storing cursors failed'))
    })

    const sink: DeliverySink = {
      push: (delivery) =>
        this.send(ws, messageFrame(delivery), () => {
          tracker.sent(delivery)
          metrics.delivered.inc({ transport: 'websocket' })
        }),
      gap: (notice) => this.send(ws, gapFrame(notice)),
      close: (code, reason) => {
        if (code === 'slow_consumer') {
          metrics.slowConsumers.inc({ transport: 'websocket' })
          log.warn({ clientId }, 'WebSocket client too slow; closed (it resumes from its cursor)')
        }
        ws.close(WS_CLOSE_BY_HUB_CODE[code], closeReason(reason))
      },
    }
    hub.attach(clientId, sink, since === undefined ? {} : { since }).then(
      (attachment) => {
        tracker.setAttachment(attachment)
        if (closed) void tracker.detach()
      },
      (err: unknown) => {
        const invalid = isOptimumError(err) && err.code === 'invalid_argument'
        if (!invalid) log.warn({ clientId, err }, 'attaching a WebSocket client failed')
        ws.close(invalid ? WS_CLOSE.policy : WS_CLOSE.tryAgainLater, closeReason(isOptimumError(err) ? err.message : 'internal error'))
      },
    )
  }

  /** False (slow consumer) when the frame would take the connection past its buffer; true when sent or when the socket is closing anyway. */
  private send(ws: WebSocket, frame: Buffer, onSent?: () => void): boolean {
    if (ws.readyState !== WebSocket.OPEN) return true
    if (ws.bufferedAmount + frame.length > this.options.bufferBytes) return false
    ws.send(frame, { binary: false }, (err) => {
      if (!err) onSent?.()
    })
    return true
  }

  private ping(): void {
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        ws.terminate()
        continue
      }
      this.alive.delete(ws)
      ws.ping()
    }
  }
}

function closeReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8')
  return bytes.length <= MAX_CLOSE_REASON_BYTES ? reason : bytes.subarray(0, MAX_CLOSE_REASON_BYTES - 3).toString('utf8').replace(/\uFFFD$/, '') + '...'
}

function refuseError(socket: Duplex, err: unknown): void {
  if (isOptimumError(err)) refuse(socket, HTTP_STATUS_BY_CODE[err.code], err.message)
  else refuse(socket, 500, 'internal error')
}

/** An HTTP answer on a socket that asked for an upgrade: JSON `{"error"}` like every other route. */
function refuse(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
