import * as grpc from '@grpc/grpc-js'
import { formatHostPort } from '../../common/config/index.js'
import { OptimumError } from '../../common/errors.js'
import { applyServerFlowControlWindow, serverFlowControlWindow, sidecarServerOptions } from '../../common/grpc-options.js'
import { toGrpcStatus } from '../../common/grpc-status.js'
import { loadProxyProto, type ProxyStreamHandlers } from '../../common/proto.js'
import type { NodeStatus } from '../nodes/node-pool.js'
import { ClientStreamSession, type ClientStreamDeps } from './client-stream.js'
import { isUndecodable, undecodableReason, withTolerantDecoding } from './frame-decoding.js'

export interface GrpcServerOptions extends ClientStreamDeps {
  host: string
  /** PROXY_GRPC_PORT; 0 picks a free port. */
  port: number
  nodes(): NodeStatus[]
}

const STOP_GRACE_MS = 2_000

/**
 * The published `proto.ProxyStream` service on PROXY_GRPC_PORT: ClientStream
 * (client-stream.ts), unary Publish and Subscribe, ExposeNodes. Large HTTP/2
 * windows; client keepalive pings every ≥ 10 s are accepted (grpc-js servers
 * never answer them with too_many_pings).
 */
export class GrpcServer {
  private server: grpc.Server | undefined
  private readonly sessions = new Set<ClientStreamSession>()

  constructor(private readonly options: GrpcServerOptions) {}

  get connections(): number {
    return this.sessions.size
  }

  async start(): Promise<number> {
    const { log, api } = this.options
    const server = new grpc.Server(sidecarServerOptions(api.maxMessageSize))
    server.addService(withTolerantDecoding(loadProxyProto().ProxyStream.service), this.handlers())
    const address = formatHostPort({ host: this.options.host, port: this.options.port })
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)))
    }).catch((err: unknown) => {
      server.forceShutdown()
      throw new OptimumError('unavailable', `proxy gRPC cannot listen on ${address}: ${(err as Error).message}`)
    })
    if (!applyServerFlowControlWindow(server, serverFlowControlWindow(api.maxMessageSize))) {
      log.warn('grpc-js internals changed: ProxyStream keeps the default 64 KiB HTTP/2 receive windows')
    }
    this.server = server
    log.info({ host: this.options.host, port }, 'gRPC ProxyStream listening')
    return port
  }

  /** Ends open streams with UNAVAILABLE, lets calls finish briefly, then closes the rest. */
  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()))
    for (const session of [...this.sessions]) session.end(new OptimumError('unavailable', 'proxy shutting down'))
    const timer = setTimeout(() => server.forceShutdown(), STOP_GRACE_MS)
    await drained.finally(() => clearTimeout(timer))
  }

  private handlers(): ProxyStreamHandlers {
    const { api, auth } = this.options
    const authorize = (call: grpc.ServerUnaryCall<unknown, unknown>, clientId: string, publishBytes?: number) => {
      const authorization = call.metadata.get('authorization')[0]
      return auth.check({ clientId, ...(typeof authorization === 'string' ? { authorization } : {}), ...(publishBytes === undefined ? {} : { publishBytes }) })
    }
    return {
      ClientStream: (call) => {
        const session = new ClientStreamSession(call, this.options, () => this.sessions.delete(session))
        this.sessions.add(session)
      },
      Publish: (call, callback) => {
        if (isUndecodable(call.request)) return callback(undecodable('PublishRequest', call.request))
        const { client_id: clientId, topic, message } = call.request
        authorize(call, clientId, message.length)
          .then(() => api.publish({ clientId, topic, data: message }))
          .then(
            (outcome) => {
              this.options.metrics.published.inc({ status: outcome.status })
              callback(null, { status: outcome.status, topic, client_id: clientId, message_id: outcome.messageId })
            },
            (err: unknown) => callback(toGrpcStatus(err)),
          )
      },
      Subscribe: (call, callback) => {
        if (isUndecodable(call.request)) return callback(undecodable('SubscribeRequest', call.request))
        const { client_id: clientId, topic, threshold, topics } = call.request
        const all = [...(topic ? [topic] : []), ...topics]
        authorize(call, clientId)
          .then(() => {
            if (all.length === 0) throw new OptimumError('invalid_argument', 'missing topic')
            return api.subscribe(clientId, all, threshold)
          })
          .then(
            () => callback(null, { status: 'subscribed', topic: all.join(','), client_id: clientId }),
            (err: unknown) => callback(toGrpcStatus(err)),
          )
      },
      ExposeNodes: (call, callback) => {
        if (isUndecodable(call.request)) return callback(undecodable('ExposeNodesRequest', call.request))
        const amount = call.request.expose_amount
        const nodes = this.options.nodes().filter((n) => n.state === 'up').map((n) => n.address)
        callback(null, { nodes: amount > 0 ? nodes.slice(0, amount) : nodes, nodesOptP2P: [] })
      },
    }
  }
}

function undecodable(type: string, request: Parameters<typeof undecodableReason>[0]) {
  return toGrpcStatus(new OptimumError('invalid_argument', `the request is not a ${type}: ${undecodableReason(request)}`))
}
