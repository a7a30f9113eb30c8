import * as grpc from '@grpc/grpc-js'
import { clientChannelOptions, type ClientKeepalive } from './grpc-options.js'
import { loadSidecarProto, type CommandStreamClient } from './proto.js'

const NO_KEEPALIVE: ClientKeepalive = { keepaliveIntervalMs: 0, keepaliveTimeoutMs: 0 }

/**
 * A client of a node's sidecar (`host:port`, plaintext as the published
 * setup), with the channel options every client of ours uses: 1 GiB windows,
 * no size limits, keepalive as asked.
 */
export function connectSidecar(address: string, keepalive: ClientKeepalive = NO_KEEPALIVE): CommandStreamClient {
  const { CommandStream } = loadSidecarProto()
  return new CommandStream(address, grpc.credentials.createInsecure(), clientChannelOptions(keepalive))
}
