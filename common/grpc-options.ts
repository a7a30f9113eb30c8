import type { EventEmitter } from 'node:events'
import type { ServerHttp2Session } from 'node:http2'
import type * as grpc from '@grpc/grpc-js'

/**
 * gRPC channel and server options shared by every gRPC edge of the stack
 * (the node's sidecar, the proxy's ProxyStream server, the p2p and proxy
 * clients, the proxy's connections to the sidecars).
 *
 * Option names are the ones @grpc/grpc-js 1.14 reads (checked in its sources:
 * src/channel-options.ts, src/transport.ts, src/server.ts,
 * src/server-interceptors.ts):
 * - `grpc-node.flow_control_window`: client only in 1.14. transport.ts uses it
 *   as the HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE (per stream) and calls
 *   `session.setLocalWindowSize()` with it (connection window). The server
 *   ignores it (grpc-node PR #3058 adds it); `applyServerFlowControlWindow`
 *   does the same job for a server today.
 * - `grpc.keepalive_time_ms`, `grpc.keepalive_timeout_ms`,
 *   `grpc.keepalive_permit_without_calls`: client pings (transport.ts); on a
 *   server, time/timeout make the server ping its clients (server.ts).
 * - `grpc.max_receive_message_length`, `grpc.max_send_message_length`: -1 is
 *   unlimited; a server checks them per call (server-interceptors.ts).
 * - `grpc.per_rpc_retry_buffer_size`: bytes of a call's sent messages kept
 *   for retries (internal-channel.ts, retrying-call.ts); see clientChannelOptions.
 *
 * Client keepalive policing: a grpc-js server has no ping-strike logic at all
 * (grpc-core's `grpc.http2.min_recv_ping_interval_without_data_ms` and
 * `grpc.http2.max_ping_strikes` do not exist in grpc-js), so it never sends
 * GOAWAY `too_many_pings`: client pings every ≥ 10 s, with or without active
 * calls, are accepted. node/test/sidecar-keepalive.test.ts guards that.
 */

export const MIB = 1024 * 1024

/** What the published Go clients use (grpc.WithInitialWindowSize / WithInitialConnWindowSize). */
export const CLIENT_FLOW_CONTROL_WINDOW = 1024 * MIB

/** grpc-go raises any client keepalive interval below this to it; so do we, and servers accept pings this often. */
export const MIN_KEEPALIVE_INTERVAL_MS = 10_000

/**
 * A server pings each connection this often to find clients that vanished
 * without a FIN, and drops a connection whose ack takes longer than the
 * timeout. The timeout is generous: on a node saturated by a burst the ack
 * waits behind everything else on the event loop; with 20 s, bench:node (16
 * nodes on 2 cores) once lost a healthy subscriber's connection to the hub
 * node ("Connection dropped"). A vanished client holds only its bounded queue
 * until then.
 */
export const SERVER_KEEPALIVE_TIME_MS = 120_000
export const SERVER_KEEPALIVE_TIMEOUT_MS = 60_000

/**
 * Receive limit of a server whose largest legal message body is
 * `maxMessageSize`: 1 MiB of headroom so that a slightly oversize message
 * reaches the handler and gets its clear `too_large` error rather than the
 * transport's RESOURCE_EXHAUSTED that ends the call; larger still is refused
 * by the transport (the limit stays bounded).
 */
export function serverReceiveLimit(maxMessageSize: number): number {
  return maxMessageSize + MIB
}

/**
 * The server's HTTP/2 receive window (per stream and per connection): large
 * enough for a few maximum-size messages in flight, bounded because a client
 * may fill it while the server is not reading (it is memory the server holds).
 */
export function serverFlowControlWindow(maxMessageSize: number): number {
  return Math.min(CLIENT_FLOW_CONTROL_WINDOW, Math.max(16 * MIB, 2 * serverReceiveLimit(maxMessageSize)))
}

/** Options for a gRPC server that accepts messages of up to `maxMessageSize` bytes of payload. */
export function sidecarServerOptions(maxMessageSize: number): grpc.ServerOptions {
  return {
    'grpc.max_receive_message_length': serverReceiveLimit(maxMessageSize),
    // Delivered messages are JSON with base64 bodies (4/3 of the payload and more): never refuse to send one.
    'grpc.max_send_message_length': -1,
    // Ignored by grpc-js 1.14 servers; honoured once the server reads it. applyServerFlowControlWindow covers today.
    'grpc-node.flow_control_window': serverFlowControlWindow(maxMessageSize),
    'grpc.keepalive_time_ms': SERVER_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': SERVER_KEEPALIVE_TIMEOUT_MS,
  }
}

export interface ClientKeepalive {
  /** Ping interval; raised to MIN_KEEPALIVE_INTERVAL_MS when lower; ≤ 0 turns client pings off. */
  keepaliveIntervalMs: number
  /** How long to wait for a ping's ack before the connection is declared dead. */
  keepaliveTimeoutMs: number
}

/**
 * Options for a client channel: 1 GiB HTTP/2 windows (a subscriber never
 * stalls the server's sends), no message size limits, keepalive pings that
 * are also sent without active calls (like the Go clients' PermitWithoutStream),
 * no retry buffering of sent messages (so no transparent retries either:
 * callers that need a retry make it themselves, e.g. Publish with a message_id).
 */
export function clientChannelOptions(keepalive: ClientKeepalive): grpc.ChannelOptions {
  const options: grpc.ChannelOptions = {
    'grpc-node.flow_control_window': CLIENT_FLOW_CONTROL_WINDOW,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    // grpc-js keeps up to 1 MiB of a call's outgoing messages for retries, acknowledging those
    // writes before they are sent (no backpressure), then trims that buffer with an O(n) slice per
    // message sent: a stream of many small publishes turns quadratic (40k small publishes: 6 s instead
    // of 2 s). 0 sends every message straight to the transport (retrying-call.ts, internal-channel.ts).
    'grpc.per_rpc_retry_buffer_size': 0,
  }
  if (keepalive.keepaliveIntervalMs > 0) {
    options['grpc.keepalive_time_ms'] = Math.max(MIN_KEEPALIVE_INTERVAL_MS, Math.round(keepalive.keepaliveIntervalMs))
    options['grpc.keepalive_timeout_ms'] = Math.max(1, Math.round(keepalive.keepaliveTimeoutMs))
    options['grpc.keepalive_permit_without_calls'] = 1
  }
  return options
}

const windowed = new WeakSet<object>()

/**
 * Gives every HTTP/2 session a bound grpc-js server accepts a receive window
 * of `bytes` (connection window via `setLocalWindowSize`, per-stream window
 * via a SETTINGS update), like `grpc-node.flow_control_window` does for
 * clients. Call it after `bindAsync` has resolved. grpc-js 1.14 keeps its
 * HTTP/2 servers in a private field; if a later version renames it this
 * returns false and the server keeps Node's 64 KiB default windows (slower
 * large uploads on long links, nothing worse).
 */
export function applyServerFlowControlWindow(server: grpc.Server, bytes: number): boolean {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers
  if (!(http2Servers instanceof Map)) return false
  for (const http2Server of http2Servers.keys() as IterableIterator<EventEmitter>) {
    if (windowed.has(http2Server)) continue
    windowed.add(http2Server)
    http2Server.on('session', (session: ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(bytes)
        session.settings({ initialWindowSize: bytes })
      } catch {
        // a session that is already closing: nothing to widen
      }
    })
  }
  return true
}
