import * as grpc from '@grpc/grpc-js'
import { applyServerFlowControlWindow, serverFlowControlWindow, sidecarServerOptions } from '../../common/grpc-options.js'
import { OptimumError } from '../../common/errors.js'
import { toGrpcStatus } from '../../common/grpc-status.js'
import type { Logger } from '../../common/logger.js'
import { loadSidecarProto, type CommandStreamHandlers, type SidecarResponse } from '../../common/proto.js'
import type { NodeMetrics } from '../metrics.js'
import { ListenError } from '../startup-failure.js'
import type { DeliveredMessage, PubSubEngine } from '../pubsub/engine.js'
import { parsePublishRequest } from './commands.js'
import { deliveredResponse, shareSerialization } from './delivery-json.js'
import { StreamSession, type ListenCall, type StreamStats } from './stream-session.js'
import type { NodeMode } from '../../common/config/index.js'
import type { TraceTap } from '../trace/tap.js'
import { traceResponse } from '../trace/response.js'
import type { NodeTrace } from '../trace/types.js'
import { TopicRefs } from './topic-refs.js'
import { bearerToken } from '../../common/auth/claims.js'
import type { SidecarAuth } from './auth.js'

/** Machine usage in percent (0..100), as `Health` reports it. */
export interface SidecarHealth {
  cpuUsed: number
  memoryUsed: number
  diskUsed: number
}

export interface SidecarServerOptions {
  engine: PubSubEngine
  metrics: NodeMetrics
  log: Logger
  /** Address to bind, e.g. '0.0.0.0' or '127.0.0.1' ('::' and IPv6 literals work too). */
  host: string
  /** SIDECAR_PORT; 0 picks a free port (`start` returns it). */
  port: number
  /** Responses buffered per stream for a client that reads slowly; beyond it the oldest is dropped. */
  queueSize: number
  /** …and at most this many bytes of message data per stream (the oldest go first). */
  queueBytes: number
  /** Largest message body accepted for publishing, in bytes (the mode's *_MAX_MSG_SIZE). */
  maxMessageSize: number
  health: () => Promise<SidecarHealth>
  /** What Health says about the node besides usage: its libp2p address, and where it runs ('' = not configured). */
  identity?: SidecarIdentity
  /** Caps on what clients can make the node hold (defaults: the config defaults). */
  limits?: Partial<SidecarLimits>
  /** Per stream: reading pauses while this many publishes are unfinished (default 1024)… */
  maxInflightPublishes?: number
  /** …or while their bodies add up to this many bytes (default 64 MiB). */
  maxInflightBytes?: number
  /**
   * Per stream: most responses in grpc-js's hands at once, a write cycle's
   * batch (default 1024; at most half of queueSize). Large batches let a
   * stream keep up with a fast publisher. They count against queueSize and
   * queueBytes like queued responses.
   */
  writeBatch?: number
  /** The node's protocol events, streamed to the streams that ask (Request.trace); none when absent. */
  traces?: SidecarTraces
  /** SIDECAR_AUTH: publishes and subscribes need a valid JWT; absent = open, as published. */
  auth?: SidecarAuth
}

export interface SidecarTraces {
  tap: Pick<TraceTap, 'onTrace'>
  mode: NodeMode
  /** This node's peer id, the `peerID` of every event. */
  node: string
  /** Per tracing stream: events queued at most (default TRACE_QUEUE_SIZE)… */
  queueSize?: number
  /** …and bytes (default TRACE_QUEUE_BYTES). */
  queueBytes?: number
}

export interface SidecarIdentity {
  p2pAddress(): string
  country: string
  countryIso: string
}

export interface SidecarLimits {
  /** Open ListenCommands streams, all clients together (SIDECAR_MAX_STREAMS). */
  maxStreams: number
  /** …on one client connection (SIDECAR_MAX_STREAMS_PER_CONNECTION). */
  maxStreamsPerConnection: number
  /** Topics one stream may hold (SIDECAR_MAX_TOPICS_PER_STREAM). */
  maxTopicsPerStream: number
  /** Unary Publish calls in flight (SIDECAR_MAX_UNARY_PUBLISHES). */
  maxUnaryPublishes: number
}

const DEFAULT_LIMITS: SidecarLimits = { maxStreams: 1024, maxStreamsPerConnection: 64, maxTopicsPerStream: 1024, maxUnaryPublishes: 1024 }

/**
 * The node's sidecar: the published `proto.CommandStream` gRPC service.
 *
 * ListenCommands (bidi stream): `Request{command, data, topic}`; 1 publish,
 * 2 subscribe, 3 unsubscribe. Any number of concurrent streams, each with its
 * own topics. The node holds a mesh subscription while at least one stream
 * wants the topic (TopicRefs). Each delivered message becomes
 * `Response{command: Message (1), data: JSON {"MessageID","Topic",
 * "Message" (base64),"SourceNodeID"}}`, encoded once and shared by all the
 * streams subscribed to its topic.
 *
 * Bad requests on a stream (unknown command, empty or over-long topic, a body
 * over maxMessageSize, a publish the engine refuses) do not end the stream:
 * the server answers `Response{command: Unknown (0), data: JSON {"error":
 * "<sentence>", "code": "<OptimumError code>", "command": <n>, "topic":
 * "<t>"}}`. Published clients ignore type 0 (or log it).
 *
 * Slow subscribers: each stream has a bounded queue (queueSize messages and
 * queueBytes bytes, counting what grpc-js holds and has not sent yet) with a
 * drop-oldest overflow rule (outbound-queue.ts), so a client that stops
 * reading never stalls the node, the mesh or other subscribers, and never
 * makes it hold more than the budget.
 *
 * Throughput: a stream sends up to writeBatch responses per write cycle
 * (batched-writes.ts), and handles at most 128 requests per event-loop turn
 * before it lets the other streams run, so a subscriber that reads keeps up
 * with a publisher going at full speed instead of overflowing its queue.
 *
 * Half-close by the client: its pending publishes finish (in order), its
 * topics are released, what is queued is sent, and the call ends with OK. A
 * publisher can thus half-close and wait for the end to know every message
 * was handed to the engine.
 *
 * Limits (SidecarLimits): a stream past the total or per-connection cap is
 * refused with RESOURCE_EXHAUSTED; a subscribe past the per-stream topic cap
 * gets an error response with code `resource_exhausted`; a unary Publish past
 * the in-flight cap is refused with RESOURCE_EXHAUSTED.
 *
 * Publish (unary, our extension): `{topic, data, message_id}` →
 * `{message_id, fresh}`. A non-empty message_id makes it idempotent: the same
 * id and body twice is one message in the network (`fresh: false` the second
 * time); the same id with another body is ALREADY_EXISTS (README.md, the
 * idempotency window). Errors are gRPC statuses through
 * common/grpc-status.ts: INVALID_ARGUMENT (topic, id), RESOURCE_EXHAUSTED
 * (too large, the details say the limit; or too many calls), ALREADY_EXISTS,
 * UNAVAILABLE, INTERNAL.
 *
 * Auth (`auth`, SIDECAR_AUTH=true): every publish and subscribe on a stream
 * carries a JWT in `jwt_token`, and a unary Publish one in `authorization:
 * Bearer <JWT>` metadata (SidecarAuth). A stream request without a valid one
 * gets an error response with code `unauthenticated` (or `permission_denied`
 * for an inactive client) and does nothing; the stream goes on. A unary
 * Publish is refused with UNAUTHENTICATED / PERMISSION_DENIED. Unsubscribe,
 * Health and ListTopics stay open.
 *
 * Health → `{status: true, nodeMode, cpuUsed, memoryUsed, diskUsed,
 * p2pAddress, country, country_iso}`; ListTopics → the topics the node is
 * subscribed to.
 */
export class SidecarServer {
  private readonly refs: TopicRefs<StreamSession>
  private readonly sessions = new Set<StreamSession>()
  /** Open streams per client connection (keyed by the peer's address:port, one per TCP connection). */
  private readonly perConnection = new Map<string, number>()
  private unaryPublishes = 0
  private readonly limits: SidecarLimits
  private server: grpc.Server | undefined
  private stopListening: (() => void) | undefined
  private boundPort = 0
  private stopping: Promise<void> | undefined

  constructor(private readonly options: SidecarServerOptions) {
    this.refs = new TopicRefs<StreamSession>(options.engine)
    this.limits = { ...DEFAULT_LIMITS, ...options.limits }
  }

  /** The bound port (after `start`). */
  get port(): number {
    return this.boundPort
  }

  /** Binds host:port and starts serving; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.server) throw new Error('sidecar server already started')
    const { log, maxMessageSize } = this.options
    const server = new grpc.Server(sidecarServerOptions(maxMessageSize))
    server.addService(this.serviceDefinition(), this.handlers())
    const address = formatHostPort(this.options.host, this.options.port)
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)))
    }).catch((err: unknown) => {
      server.forceShutdown()
      throw new ListenError('sidecar', this.options.host, this.options.port, err)
    })
    if (!applyServerFlowControlWindow(server, serverFlowControlWindow(maxMessageSize))) {
      log.warn('grpc-js internals changed: the sidecar keeps the default 64 KiB HTTP/2 receive windows')
    }
    this.server = server
    const stopMessages = this.options.engine.onMessage((message) => this.fanOut(message))
    const traces = this.options.traces
    const stopTraces = traces?.tap.onTrace((event) => this.fanOutTrace(event, traces))
    this.stopListening = () => {
      stopMessages()
      stopTraces?.()
    }
    log.info({ host: this.options.host, port: this.boundPort }, 'sidecar gRPC server listening')
    return this.boundPort
  }

  /**
   * Stops accepting calls, releases every stream's topics, ends open streams
   * with UNAVAILABLE ("node is shutting down"), lets calls finish for up to
   * `graceMs`, then closes whatever is left.
   */
  stop(graceMs = 5_000): Promise<void> {
    this.stopping ??= this.doStop(graceMs)
    return this.stopping
  }

  /** Per-stream figures (queue depth, drops), for tests and diagnostics. */
  streamStats(): StreamStats[] {
    return [...this.sessions].map((session) => session.stats())
  }

  /** Open ListenCommands streams. */
  get streamCount(): number {
    return this.sessions.size
  }

  private async doStop(graceMs: number): Promise<void> {
    const server = this.server
    if (!server) return
    this.stopListening?.()
    this.stopListening = undefined
    const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()))
    for (const session of [...this.sessions]) {
      session.shutdown({ code: grpc.status.UNAVAILABLE, details: 'node is shutting down' })
    }
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs)
    })
    const outcome = await Promise.race([drained.then(() => 'drained' as const), deadline])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      this.options.log.warn({ graceMs }, 'sidecar calls did not finish in time: closing their connections')
      server.forceShutdown()
    }
    this.server = undefined
    this.options.log.info('sidecar gRPC server stopped')
  }

  /** Why a new stream may not open (RESOURCE_EXHAUSTED), or undefined when it may. */
  private streamRefusal(call: ListenCall): OptimumError | undefined {
    const { maxStreams, maxStreamsPerConnection } = this.limits
    if (this.sessions.size >= maxStreams) {
      return new OptimumError('resource_exhausted', `the node serves at most ${maxStreams} sidecar streams at once (SIDECAR_MAX_STREAMS)`)
    }
    if ((this.perConnection.get(call.getPeer()) ?? 0) >= maxStreamsPerConnection) {
      return new OptimumError('resource_exhausted',
        `the node serves at most ${maxStreamsPerConnection} sidecar streams per connection (SIDECAR_MAX_STREAMS_PER_CONNECTION)`)
    }
    return undefined
  }

  private fanOut(message: DeliveredMessage): void {
    const holders = this.refs.holdersOf(message.topic)
    if (holders === undefined || holders.size === 0) return
    let response: SidecarResponse
    try {
      response = deliveredResponse(message)
    } catch (err) {
      this.options.log.error({ err, topic: message.topic }, 'cannot encode a delivered message')
      return
    }
    this.options.metrics.delivered.inc({ topic: this.options.metrics.topicLabel(message.topic) })
    for (const session of holders) session.deliver(response, message.topic)
  }

  /** Encodes the event once, and only when a stream wants it: most nodes trace for nobody. */
  private fanOutTrace(event: NodeTrace, traces: SidecarTraces): void {
    const candidates = event.topic === undefined ? this.sessions : this.refs.holdersOf(event.topic)
    if (candidates === undefined || candidates.size === 0) return
    let response: SidecarResponse | undefined
    for (const session of candidates) {
      if (!session.tracing(event.topic)) continue
      response ??= traceResponse(event, traces.mode, traces.node)
      session.trace(response, event.topic)
    }
  }

  private meshTrace(topic: string): SidecarResponse[] {
    const traces = this.options.traces
    if (traces === undefined) return []
    const time = Date.now()
    return this.options.engine.meshPeers(topic).map((peer) => traceResponse({ kind: 'graft', time, topic, peer }, traces.mode, traces.node))
  }

  private serviceDefinition(): grpc.ServiceDefinition {
    const base = loadSidecarProto().CommandStream.service
    const listen = base.ListenCommands as grpc.MethodDefinition<unknown, SidecarResponse>
    return {
      ...base,
      ListenCommands: { ...listen, responseSerialize: shareSerialization(listen.responseSerialize) },
    }
  }

  private handlers(): CommandStreamHandlers {
    const { engine, log, metrics, maxMessageSize, auth } = this.options
    return {
      ListenCommands: (call: ListenCall) => {
        if (this.stopping) {
          call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'node is shutting down', metadata: new grpc.Metadata() })
          return
        }
        const refusal = this.streamRefusal(call)
        if (refusal !== undefined) {
          log.warn({ peer: call.getPeer() }, refusal.message)
          call.emit('error', toGrpcStatus(refusal))
          return
        }
        const connection = call.getPeer()
        this.perConnection.set(connection, (this.perConnection.get(connection) ?? 0) + 1)
        const session = new StreamSession(call, {
          engine,
          refs: this.refs,
          metrics,
          log,
          queueSize: this.options.queueSize,
          queueBytes: this.options.queueBytes,
          maxMessageSize,
          maxInflightPublishes: this.options.maxInflightPublishes ?? 1024,
          maxInflightBytes: this.options.maxInflightBytes ?? 64 * 1024 * 1024,
          writeBatch: this.options.writeBatch ?? 1024,
          maxTopics: this.limits.maxTopicsPerStream,
          traceQueueSize: this.options.traces?.queueSize,
          traceQueueBytes: this.options.traces?.queueBytes,
          meshTrace: (topic) => this.meshTrace(topic),
          ...(auth !== undefined && { authorize: (token: string) => auth.check(token, MISSING_STREAM_TOKEN) }),
          onClosed: (s) => {
            if (!this.sessions.delete(s)) return
            metrics.sidecarStreams.dec()
            const left = (this.perConnection.get(connection) ?? 1) - 1
            if (left > 0) this.perConnection.set(connection, left)
            else this.perConnection.delete(connection)
          },
        })
        this.sessions.add(session)
        metrics.sidecarStreams.inc()
      },

      Health: (_call, callback) => {
        this.options.health().then(
          (usage) =>
            callback(null, {
              status: true,
              nodeMode: engine.mode,
              cpuUsed: usage.cpuUsed,
              memoryUsed: usage.memoryUsed,
              diskUsed: usage.diskUsed,
              p2pAddress: this.options.identity?.p2pAddress() ?? '',
              country: this.options.identity?.country ?? '',
              country_iso: this.options.identity?.countryIso ?? '',
            }),
          (err: unknown) => {
            log.error({ err }, 'sidecar Health failed')
            callback(toGrpcStatus(err))
          },
        )
      },

      ListTopics: (_call, callback) => {
        try {
          callback(null, { topics: engine.topics() })
        } catch (err) {
          log.error({ err }, 'sidecar ListTopics failed')
          callback(toGrpcStatus(err))
        }
      },

      Publish: (call, callback) => {
        const { topic, data } = call.request
        let id: string | undefined
        try {
          id = parsePublishRequest(call.request, maxMessageSize)
        } catch (err) {
          callback(toGrpcStatus(err))
          return
        }
        if (this.unaryPublishes >= this.limits.maxUnaryPublishes) {
          callback(toGrpcStatus(new OptimumError('resource_exhausted',
            `the node has ${this.limits.maxUnaryPublishes} Publish calls in flight (SIDECAR_MAX_UNARY_PUBLISHES); retry shortly`)))
          return
        }
        this.unaryPublishes++
        const allowed = auth === undefined ? Promise.resolve() : auth.check(bearerToken(metadataText(call.metadata, 'authorization')), MISSING_BEARER)
        allowed.then(() => engine.publish(topic, data, id)).finally(() => this.unaryPublishes--).then(
          (result) => {
            if (result.fresh) metrics.published.inc({ topic: metrics.topicLabel(topic) })
            callback(null, { message_id: result.id, fresh: result.fresh })
          },
          (err: unknown) => {
            const status = toGrpcStatus(err)
            if (status.code === grpc.status.INTERNAL) log.error({ err, topic }, 'sidecar Publish failed')
            callback(status)
          },
        )
      },
    }
  }
}

const MISSING_STREAM_TOKEN = 'missing jwt_token: this node requires a JWT on every publish and subscribe (SIDECAR_AUTH)'
const MISSING_BEARER = 'missing bearer token: send metadata authorization: Bearer <JWT> (SIDECAR_AUTH)'

/** A metadata value as text; undefined when absent. */
function metadataText(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0]
  return value === undefined ? undefined : value.toString()
}

/** `host:port` for grpc-js, bracketing IPv6 literals. */
function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`
}
