import * as grpc from '@grpc/grpc-js'
import { clientChannelOptions, type ClientKeepalive } from './grpc-options.js'
import { loadSidecarProto, type CommandStreamClient } from './proto.js'

const NO_KEEPALIVE: ClientKeepalive = { keepaliveIntervalMs: 0, keepaliveTimeoutMs: 0 }

export interface SidecarClientOptions {
  keepalive?: ClientKeepalive
  /**
   * A JWT sent as `authorization: Bearer <token>` metadata on every call (what
   * a node with SIDECAR_AUTH wants on the unary Publish). Stream requests
   * carry it themselves, in `jwt_token`.
   */
  token?: string
}

/**
 * A client of a node's sidecar (`host:port`, plaintext as the published
 * setup), with the channel options every client of ours uses: 1 GiB windows,
 * no size limits, keepalive as asked.
 */
export function connectSidecar(address: string, options: SidecarClientOptions = {}): CommandStreamClient {
  const { CommandStream } = loadSidecarProto()
  const token = options.token
  // grpc-js refuses call credentials on a plaintext channel: an interceptor adds the metadata instead.
  const interceptors: grpc.Interceptor[] = token === undefined ? [] : [
    (callOptions, nextCall) => new grpc.InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`)
        next(metadata, listener)
      },
    }),
  ]
  return new CommandStream(address, grpc.credentials.createInsecure(), { ...clientChannelOptions(options.keepalive ?? NO_KEEPALIVE), interceptors })
}
