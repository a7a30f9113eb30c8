import type { CloseCode } from '../delivery/types.js'

/**
 * WebSocket close codes the proxy uses. 4000–4999 are for applications
 * (RFC 6455 §7.4.2); a client that sees 4008 reconnects and resumes from its
 * cursor without losing anything.
 */
export const WS_CLOSE = {
  /** The replica is shutting down: reconnect (to any replica). */
  goingAway: 1001,
  /** The client sent something it must not (an oversize frame). */
  policy: 1008,
  /** Redis or the hub failed while attaching: try again later. */
  tryAgainLater: 1013,
  /** The client fell more than PROXY_CLIENT_BUFFER(_BYTES) behind. */
  slowConsumer: 4008,
} as const

export const WS_CLOSE_BY_HUB_CODE: Readonly<Record<CloseCode, number>> = {
  slow_consumer: WS_CLOSE.slowConsumer,
  shutdown: WS_CLOSE.goingAway,
}
