import * as grpc from '@grpc/grpc-js'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import { Command, type SidecarRequest, type SidecarResponse } from '../../common/proto.js'
import type { NodeMetrics } from '../metrics.js'
import type { PubSubEngine } from '../pubsub/engine.js'
import { enableBatchedWrites } from './batched-writes.js'
import { errorResponse, parseStreamRequest, type StreamCommand } from './commands.js'
import { OutboundQueue } from './outbound-queue.js'
import type { TopicRefs } from './topic-refs.js'
import { takeUnreadRequests, type UnreadRequests } from './unread-requests.js'

export type ListenCall = grpc.ServerDuplexStream<SidecarRequest, SidecarResponse>

export interface StreamSessionDeps {
  engine: PubSubEngine
  refs: TopicRefs<StreamSession>
  metrics: NodeMetrics
  log: Logger
  queueSize: number
  queueBytes: number
  maxMessageSize: number
  /** Reading from the client pauses while this many publishes of the stream are unfinished… */
  maxInflightPublishes: number
  /** …or while their bodies add up to this many bytes. */
  maxInflightBytes: number
  /**
   * Most responses in grpc-js's hands at once (a write batch). They count
   * against queueSize / queueBytes like the queued ones (outbound-queue.ts).
   */
  writeBatch: number
  /** Topics the stream may hold at once; a subscribe past it gets a `resource_exhausted` error response. */
  maxTopics: number
  /**
   * SIDECAR_AUTH: resolves when a publish or subscribe carrying this
   * `jwt_token` may act, rejects with the OptimumError to answer. Absent = no
   * checks (the published behaviour).
   */
  authorize?(token: string): Promise<void>
  /** Called once when the session is over (call ended, cancelled or failed). */
  onClosed(session: StreamSession): void
  /** Bound of the stream's trace queue (only streams that asked for traces have one): events… */
  traceQueueSize?: number
  /** …and bytes. */
  traceQueueBytes?: number
  /** The trace responses that describe a topic's current mesh (one GRAFT per mesh peer): a stream that starts tracing gets them first. */
  meshTrace?(topic: string): SidecarResponse[]
}

/** Trace events are small and frequent: a stream that cannot keep up loses the oldest, never its messages. */
export const TRACE_QUEUE_SIZE = 4096
export const TRACE_QUEUE_BYTES = 4 * 1024 * 1024

interface Queued {
  response: SidecarResponse
  /** For the drop counter's label. */
  topic: string
}

export interface StreamStats {
  id: number
  peer: string
  topics: string[]
  /** Responses waiting for the client to read. */
  queued: number
  /** Most responses ever waiting at once (never above the queue size). */
  maxQueued: number
  /** Responses handed to grpc-js and not yet sent. */
  inFlight: number
  /** Bytes of responses held for the stream, queued and in flight (bounded by the queue's byte budget). */
  heldBytes: number
  dropped: number
  inflightPublishes: number
  /** Topics whose trace events the stream asked for (Request.trace on the subscribe). */
  tracedTopics: string[]
  /** Trace events dropped because the stream did not read them fast enough. */
  traceDropped: number
}

let nextId = 1

/** Requests of one stream handled per event-loop turn before reading pauses until the next turn. */
const REQUESTS_PER_TURN = 128

/**
 * One `ListenCommands` stream: its topics, its outbound queue and its
 * publishes in flight.
 *
 * - Requests are handled in arrival order. A publish starts at once (so the
 *   engine sees a stream's publishes in order) and the stream goes on reading;
 *   reading pauses while too many publishes are unfinished, which pushes back
 *   on the client through HTTP/2 flow control.
 * - A bad request gets an error response (see commands.ts `errorResponse`)
 *   and the stream stays open.
 * - With `authorize` (SIDECAR_AUTH), each publish and subscribe waits for its
 *   token's check; requests still act in arrival order (each one after the one
 *   before it), a refused one gets an error response and does nothing.
 *   Requests waiting for their check count as publishes in flight.
 * - Half-close (the client is done sending): the session waits for its
 *   publishes, releases its topics, sends what is queued and ends the call
 *   with OK.
 * - Cancel, disconnect or error: topics are released at once, and every
 *   publish the node has received still goes out, in order: the ones already
 *   handed to the engine, and the ones grpc-js had received but not yet
 *   handed over (unread-requests.ts), under the same in-flight limits.
 *   Subscribes and unsubscribes left in that backlog mean nothing any more
 *   and are skipped.
 */
export class StreamSession {
  readonly id = nextId++
  readonly peer: string
  private readonly topicTrace = new Map<string, boolean>()
  private readonly queue: OutboundQueue<Queued>
  /** Trace responses, apart from the messages so that a flood of events never pushes a message out. */
  private traceQueue: OutboundQueue<Queued> | undefined
  private tracedTopics = 0
  private readonly inflight = new Set<Promise<void>>()
  private inflightBytes = 0
  /** Why reading from the client is paused: too many unfinished publishes, or this turn's share used up. */
  private readonly pauses = new Set<'inflight' | 'turn'>()
  private requestsThisTurn = 0
  private state: 'open' | 'half-closed' | 'closed' = 'open'
  private readonly log: Logger
  /** After the call ended abnormally: the requests it had received and the session has not handled yet. */
  private backlog: Iterator<SidecarRequest> | undefined
  private backlogScheduled = false
  private backlogPublished = 0
  private unread: UnreadRequests<SidecarRequest> | undefined
  /** With `authorize`: settles when the last request so far has acted (or was refused). */
  private turn: Promise<void> = Promise.resolve()

  constructor(
    private readonly call: ListenCall,
    private readonly deps: StreamSessionDeps,
  ) {
    this.peer = safePeer(call)
    this.log = deps.log.child({ stream: this.id, peer: this.peer })
    if (!enableBatchedWrites(call)) this.log.debug('grpc-js internals changed: this stream sends one message per event-loop turn')
    this.queue = new OutboundQueue<Queued>(
      // grpc-js calls back once the frame has gone to the HTTP/2 session: until then it holds the frame
      { write: (item, written) => call.write(item.response, () => written()) },
      {
        capacity: deps.queueSize,
        maxBytes: deps.queueBytes,
        sizeOf: (item) => item.response.data.length,
        // in grpc-js's hands a response is also its protobuf encoding (shared by the streams) and the
        // stream's own copy of the frame
        sinkSizeOf: (item) => 3 * item.response.data.length,
        sinkCapacity: deps.writeBatch,
        onDrop: (item) => deps.metrics.queueDrops.inc({ topic: deps.metrics.topicLabel(item.topic) }),
        log: deps.log,
        logContext: { stream: this.id, peer: this.peer },
      },
    )
    call.on('data', (request: SidecarRequest) => this.onRequest(request))
    call.on('end', () => void this.onHalfClose())
    call.on('cancelled', () => {
      // grpc-js destroys the call right after this event: take what it still holds first.
      // (It also fires after an ordinary end, and after shutdown: nothing is left unread then.)
      if (this.state !== 'open') {
        this.close('cancelled')
        return
      }
      this.close('cancelled')
      this.takeBacklog()
    })
    call.on('error', (err: Error) => {
      this.log.debug({ err }, 'sidecar stream failed')
      this.close('error')
    })
    call.on('close', () => this.close('closed'))
    this.log.debug('sidecar stream opened')
  }

  /** Queues a delivered message (the same shared response object goes to every subscribed stream). */
  deliver(response: SidecarResponse, topic: string): void {
    if (this.state === 'closed') return
    this.queue.push({ response, topic })
  }

  /** Whether the stream asked for the events of `topic`; for events of no topic (peers), whether it traces any. */
  tracing(topic: string | undefined): boolean {
    if (this.state === 'closed' || this.traceQueue === undefined) return false
    return topic === undefined ? this.tracedTopics > 0 : this.topicTrace.get(topic) === true
  }

  /** Queues a trace response (see `tracing`); ignored when the stream did not ask for it. */
  trace(response: SidecarResponse, topic: string | undefined): void {
    if (!this.tracing(topic)) return
    this.traceQueue!.push({ response, topic: topic ?? '' })
  }

  get isOpen(): boolean {
    return this.state !== 'closed'
  }

  stats(): StreamStats {
    return {
      id: this.id,
      peer: this.peer,
      topics: [...this.topicTrace.keys()],
      queued: this.queue.length,
      maxQueued: this.queue.highWater,
      inFlight: this.queue.inFlight,
      heldBytes: this.queue.heldBytes,
      dropped: this.queue.dropped,
      inflightPublishes: this.inflight.size,
      tracedTopics: [...this.topicTrace].filter(([, traced]) => traced).map(([topic]) => topic),
      traceDropped: this.traceQueue?.dropped ?? 0,
    }
  }

  /** Server shutdown: release topics and end the call with `status` after what is already queued. */
  shutdown(status: { code: grpc.status; details: string }): void {
    if (this.state === 'closed') return
    this.releaseTopics()
    this.state = 'closed'
    this.queue.close()
    this.traceQueue?.close()
    this.deps.onClosed(this)
    try {
      this.call.emit('error', { ...status, metadata: new grpc.Metadata() })
    } catch {
      // the call is already gone
    }
  }

  private onRequest(request: SidecarRequest): void {
    if (this.state === 'closed') {
      // the handler stream's own buffer, emptied by takeBacklog
      this.handleAfterClose(request)
      return
    }
    if (this.state !== 'open') return
    this.countTurn()
    const command = this.parse(request)
    if (command === undefined) return
    const authorize = this.deps.authorize
    if (authorize === undefined) {
      this.act(command, request)
      return
    }
    const allowed = this.nextTurn(command.kind === 'unsubscribe' ? undefined : authorize(request.jwt_token ?? ''))
    if (command.kind === 'publish') {
      this.publish(command.topic, command.data, request, allowed)
      return
    }
    const acted = allowed.then(
      () => {
        // a stream that closed while the check ran holds no topics any more, and must not get one back
        if (this.state !== 'closed') this.act(command, request)
      },
      (err: unknown) => this.reject(err, request),
    )
    this.track(acted, 0)
  }

  /** Settles after the request before it has acted, with `check`'s outcome: checks run side by side, requests act in order. */
  private nextTurn(check: Promise<void> | undefined): Promise<void> {
    // A refusal may come before the turn does: handled here, it is answered when its turn comes (an
    // unhandled rejection would end the process).
    check?.catch(noop)
    const allowed = this.turn.then(() => check)
    this.turn = allowed.then(noop, noop)
    return allowed
  }

  private act(command: StreamCommand, request: SidecarRequest): void {
    switch (command.kind) {
      case 'publish':
        this.publish(command.topic, command.data, request)
        return
      case 'subscribe':
        this.subscribe(command.topic, command.trace, request)
        return
      case 'unsubscribe':
        this.releaseTopic(command.topic)
        return
    }
  }

  private subscribe(topic: string, trace: boolean, request: SidecarRequest): void {
    try {
      if (!this.topicTrace.has(topic) && this.topicTrace.size >= this.deps.maxTopics) {
        throw new OptimumError('resource_exhausted',
          `a stream may hold at most ${this.deps.maxTopics} topics (SIDECAR_MAX_TOPICS_PER_STREAM); unsubscribe from one first`)
      }
      this.deps.refs.add(topic, this)
      this.setTrace(topic, trace)
      this.log.debug({ topic }, 'sidecar stream subscribed')
    } catch (err) {
      this.reject(err, request)
    }
  }

  /** Trace responses (types 2, 3) are opt-in per topic: the last subscribe of a topic says whether. */
  private setTrace(topic: string, trace: boolean): void {
    const before = this.topicTrace.get(topic) === true
    this.topicTrace.set(topic, trace)
    if (before !== trace) this.tracedTopics += trace ? 1 : -1
    if (trace && this.traceQueue === undefined) {
      const { metrics } = this.deps
      this.traceQueue = new OutboundQueue<Queued>(
        { write: (item, written) => this.call.write(item.response, () => written()) },
        {
          capacity: this.deps.traceQueueSize ?? TRACE_QUEUE_SIZE,
          maxBytes: this.deps.traceQueueBytes ?? TRACE_QUEUE_BYTES,
          sizeOf: (item) => item.response.data.length,
          onDrop: (item) => metrics.traceDrops.inc({ topic: metrics.topicLabel(item.topic) }),
          log: this.deps.log,
          logContext: { stream: this.id, peer: this.peer, queue: 'trace' },
        },
      )
    }
    if (trace && !before) for (const response of this.deps.meshTrace?.(topic) ?? []) this.traceQueue!.push({ response, topic })
  }

  /** Hands the publish to the engine (after `allowed`, when its token is being checked). */
  private publish(topic: string, data: Buffer, request: SidecarRequest, allowed?: Promise<void>): void {
    const published = allowed === undefined ? this.deps.engine.publish(topic, data) : allowed.then(() => this.deps.engine.publish(topic, data))
    const done = published.then(
      (result) => {
        if (result.fresh) this.deps.metrics.published.inc({ topic: this.deps.metrics.topicLabel(topic) })
      },
      (err: unknown) => this.reject(err, request),
    )
    this.track(done, data.length)
  }

  /** Counts unfinished work of the stream against its in-flight limits until it settles. */
  private track(work: Promise<void>, size: number): void {
    this.inflightBytes += size
    const done = work.finally(() => {
      this.inflight.delete(done)
      this.inflightBytes -= size
      this.maybeResume()
    })
    this.inflight.add(done)
    if (this.inflight.size >= this.deps.maxInflightPublishes || this.inflightBytes >= this.deps.maxInflightBytes) {
      this.pause('inflight')
    }
  }

  private hasRoom(): boolean {
    return this.inflight.size < this.deps.maxInflightPublishes && this.inflightBytes < this.deps.maxInflightBytes
  }

  private maybeResume(): void {
    if (!this.hasRoom()) return
    this.unpause('inflight')
    if (this.backlog !== undefined) this.scheduleBacklog()
  }

  /** The call ended abnormally: what grpc-js had received for it is published all the same. */
  private takeBacklog(): void {
    const unread = takeUnreadRequests(this.call)
    if (unread === undefined) {
      this.log.debug('grpc-js internals changed: requests received before a stream was cancelled may be lost')
      return
    }
    this.unread = unread
    this.appendBacklog(unread[Symbol.iterator]())
    this.scheduleBacklog()
  }

  private handleAfterClose(request: SidecarRequest): void {
    this.appendBacklog([request][Symbol.iterator]())
    this.scheduleBacklog()
  }

  private appendBacklog(more: Iterator<SidecarRequest>): void {
    const before = this.backlog
    this.backlog =
      before === undefined
        ? more
        : (function* () {
            for (let next = before.next(); !next.done; next = before.next()) yield next.value
            for (let next = more.next(); !next.done; next = more.next()) yield next.value
          })()
  }

  private scheduleBacklog(): void {
    if (this.backlogScheduled) return
    this.backlogScheduled = true
    setImmediate(() => {
      this.backlogScheduled = false
      this.drainBacklog()
    })
  }

  /** Up to REQUESTS_PER_TURN backlog publishes per turn, while the in-flight limits allow. */
  private drainBacklog(): void {
    const backlog = this.backlog
    if (backlog === undefined) return
    for (let handled = 0; handled < REQUESTS_PER_TURN; handled++) {
      if (!this.hasRoom()) return // maybeResume schedules the rest
      const next = backlog.next()
      if (next.done) {
        this.backlog = undefined
        if (this.backlogPublished > 0) {
          this.log.info({ published: this.backlogPublished }, 'published the requests a closed sidecar stream had sent before it ended')
        }
        if ((this.unread?.skipped ?? 0) > 0) {
          this.log.warn({ skipped: this.unread!.skipped }, 'a closed sidecar stream left compressed or malformed requests that could not be read')
        }
        return
      }
      const request = next.value
      if (request.command !== Command.Publish) continue
      const command = this.parse(request)
      if (command?.kind !== 'publish') continue
      this.backlogPublished++
      const authorize = this.deps.authorize
      if (authorize === undefined) {
        this.publish(command.topic, command.data, request)
        continue
      }
      this.publish(command.topic, command.data, request, this.nextTurn(authorize(request.jwt_token ?? '')))
    }
    this.scheduleBacklog()
  }

  /**
   * Fairness: a stream has at most REQUESTS_PER_TURN requests handled per
   * event-loop turn. Node reads a socket many times per turn, and a publisher
   * could otherwise push tens of thousands of publishes (and so deliveries)
   * through before any subscriber stream gets a turn to write them out.
   */
  private countTurn(): void {
    if (this.requestsThisTurn++ === 0) {
      setImmediate(() => {
        this.requestsThisTurn = 0
        this.unpause('turn')
      })
    }
    if (this.requestsThisTurn >= REQUESTS_PER_TURN) this.pause('turn')
  }

  private pause(reason: 'inflight' | 'turn'): void {
    if (this.pauses.size === 0 && this.state === 'open') this.call.pause()
    this.pauses.add(reason)
  }

  private unpause(reason: 'inflight' | 'turn'): void {
    if (!this.pauses.delete(reason) || this.pauses.size > 0) return
    if (this.state === 'open') this.call.resume()
  }

  /** The request validated, or undefined when it was refused (with an error response). */
  private parse(request: SidecarRequest): StreamCommand | undefined {
    try {
      return parseStreamRequest(request, this.deps.maxMessageSize)
    } catch (err) {
      this.reject(err, request)
      return undefined
    }
  }

  /** Sends the error response for a failed request; the stream stays open. */
  private reject(err: unknown, request: SidecarRequest): void {
    const error = isOptimumError(err) ? err : new OptimumError('internal', 'the node could not carry out the request')
    if (!isOptimumError(err)) this.log.error({ err, command: request.command, topic: request.topic }, 'sidecar request failed')
    else this.log.debug({ code: error.code, command: request.command, topic: request.topic }, error.message)
    this.queue.push({ response: errorResponse(error, request), topic: request.topic ?? '' })
  }

  private async onHalfClose(): Promise<void> {
    if (this.state !== 'open') return
    this.state = 'half-closed'
    await Promise.allSettled([...this.inflight])
    this.releaseTopics()
    await this.queue.flush()
    if (this.state !== 'half-closed') return
    this.state = 'closed'
    this.queue.close()
    this.traceQueue?.close()
    this.deps.onClosed(this)
    this.log.debug('sidecar stream half-closed by the client: ending it')
    try {
      this.call.end()
    } catch {
      // already gone
    }
  }

  private close(reason: string): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.releaseTopics()
    this.queue.close()
    this.traceQueue?.close()
    this.deps.onClosed(this)
    this.log.debug({ reason }, 'sidecar stream closed')
  }

  private releaseTopics(): void {
    for (const topic of [...this.topicTrace.keys()]) this.releaseTopic(topic)
    this.topicTrace.clear()
  }

  private releaseTopic(topic: string): void {
    if (this.topicTrace.get(topic) === true) this.tracedTopics--
    this.topicTrace.delete(topic)
    try {
      this.deps.refs.remove(topic, this)
    } catch (err) {
      this.log.error({ err, topic }, 'engine failed to unsubscribe')
    }
  }
}

function noop(): void {}

function safePeer(call: ListenCall): string {
  try {
    return call.getPeer()
  } catch {
    return 'unknown'
  }
}
