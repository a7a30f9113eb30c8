import * as grpc from '@grpc/grpc-js'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import { toGrpcStatus } from '../../common/grpc-status.js'
import type { Logger } from '../../common/logger.js'
import type { ProxyMessage } from '../../common/proto.js'
import type { DeliveryHub } from '../delivery/hub.js'
import { isCursor } from '../store/redis-store.js'
import type { CloseCode, Delivery, DeliverySink } from '../delivery/types.js'
import type { ProxyMetrics } from '../metrics.js'
import type { ClientAuth } from '../service/auth.js'
import type { ClientApi } from '../service/client-api.js'
import { SentTracker } from '../service/sent-tracker.js'
import { isUndecodable, undecodableReason } from './frame-decoding.js'

export type ClientStreamCall = grpc.ServerDuplexStream<ProxyMessage, ProxyMessage>

export interface ClientStreamDeps {
  api: ClientApi
  hub: Pick<DeliveryHub, 'attach'>
  auth: ClientAuth
  metrics: ProxyMetrics
  log: Logger
  /** Unsent bytes before the stream is ended as a slow consumer. */
  bufferBytes: number
}

/** Bytes a ProxyMessage frame adds to its body (ids, topic, protobuf framing), roughly. */
const FRAME_OVERHEAD = 256
const MAX_WAITING_FRAMES = 64

const END_BY_HUB_CODE: Readonly<Record<CloseCode, OptimumError['code']>> = {
  slow_consumer: 'resource_exhausted',
  shutdown: 'unavailable',
}

/**
 * One `ProxyStream.ClientStream` call. The first frame names the client
 * (`client_id`, and may carry `type:"subscribe"` with a topic); after it the
 * call is a DeliverySink of the hub, and the client may send frames of type
 * `subscribe` / `unsubscribe` (topic; threshold SUBSCRIBER_THRESHOLD) and
 * `publish` (topic, message). A refused frame is answered with
 * `ProxyMessage{type:"error", topic, message: <sentence>}` and the stream
 * stays open; a bad first frame ends the call with INVALID_ARGUMENT.
 * Metadata `since: <cursor>` replays from that cursor instead of the stored one.
 */
export class ClientStreamSession {
  private clientId: string | undefined
  /** The stream's `authorization` metadata: checked again on each publish frame (the limits apply per publish). */
  private authorization: string | undefined
  private readonly tracker = new SentTracker()
  private unsent = 0
  private ended = false
  private queue: Promise<void> = Promise.resolve()
  private waiting = 0

  constructor(
    private readonly call: ClientStreamCall,
    private readonly deps: ClientStreamDeps,
    private readonly onEnd: () => void,
  ) {
    call.on('data', (frame: ProxyMessage) => this.onFrame(frame))
    call.on('end', () => this.finish())
    call.on('cancelled', () => this.finish())
    call.on('error', () => this.finish())
  }

  /** Ends the call with `code` (shutdown: UNAVAILABLE). */
  end(error: OptimumError): void {
    if (this.ended) return
    this.call.emit('error', toGrpcStatus(error))
    this.finish()
  }

  /** Frames are handled one at a time, in order (a subscribe then a publish on the same topic must work); reading pauses while many wait. */
  private onFrame(frame: ProxyMessage): void {
    if (this.ended) return
    this.waiting++
    if (this.waiting >= MAX_WAITING_FRAMES) this.call.pause()
    this.queue = this.queue
      .then(() => (this.clientId === undefined ? this.first(frame) : this.command(frame).catch((err: unknown) => this.refuse(frame, err))))
      .finally(() => {
        if (--this.waiting === MAX_WAITING_FRAMES / 2) this.call.resume()
      })
  }

  private async first(frame: ProxyMessage): Promise<void> {
    if (this.ended) return
    try {
      await this.start(frame)
    } catch (err) {
      if (!isOptimumError(err)) this.deps.log.error({ err }, 'starting a gRPC client stream failed')
      this.end(isOptimumError(err) ? err : new OptimumError('internal', 'internal error'))
    }
  }

  private async start(frame: ProxyMessage): Promise<void> {
    if (isUndecodable(frame)) throw new OptimumError('invalid_argument', `the first ClientStream message is not a ProxyMessage: ${undecodableReason(frame)}`)
    const clientId = frame.client_id
    if (!clientId) throw new OptimumError('invalid_argument', 'the first ClientStream message must carry client_id')
    if (frame.type !== '' && frame.type !== 'subscribe') {
      throw new OptimumError('invalid_argument', `the first ClientStream message must have type "" or "subscribe", not ${JSON.stringify(frame.type.slice(0, 40))}`)
    }
    const metadata = this.call.metadata
    const authorization = metadata.get('authorization')[0]
    if (typeof authorization === 'string') this.authorization = authorization
    await this.deps.auth.check({ clientId, ...(this.authorization ? { authorization: this.authorization } : {}) })
    const since = metadata.get('since')[0]
    if (since !== undefined && (typeof since !== 'string' || !isCursor(since))) {
      throw new OptimumError('invalid_argument', 'since must be a cursor such as 1733090000000-0')
    }
    if (frame.topic) await this.deps.api.subscribe(clientId, [frame.topic], this.deps.api.defaultThreshold)
    this.clientId = clientId
    const sink: DeliverySink = {
      push: (delivery) => this.write(this.messageFrame(delivery), delivery.data.length, delivery),
      gap: (notice) =>
        this.write(
          { client_id: clientId, type: 'gap', topic: notice.topic, message_id: '', message: Buffer.from(JSON.stringify(notice)) },
          0,
        ),
      close: (code, reason) => {
        if (code === 'slow_consumer') {
          this.deps.metrics.slowConsumers.inc({ transport: 'grpc' })
          this.deps.log.warn({ clientId }, 'gRPC client too slow; stream ended (it resumes from its cursor)')
        }
        this.end(new OptimumError(END_BY_HUB_CODE[code], reason))
      },
    }
    const attachment = await this.deps.hub.attach(clientId, sink, typeof since === 'string' ? { since } : {})
    this.tracker.setAttachment(attachment)
    if (this.ended) void this.tracker.detach()
  }

  private async command(frame: ProxyMessage): Promise<void> {
    if (this.ended) return
    if (isUndecodable(frame)) throw new OptimumError('invalid_argument', `not a ProxyMessage: ${undecodableReason(frame)}`)
    const clientId = this.clientId!
    const { api } = this.deps
    switch (frame.type) {
      case 'subscribe':
        await api.subscribe(clientId, [frame.topic], api.defaultThreshold)
        return
      case 'unsubscribe':
        await api.unsubscribe(clientId, frame.topic)
        return
      case 'publish': {
        await this.deps.auth.check({ clientId, publishBytes: frame.message.length, ...(this.authorization ? { authorization: this.authorization } : {}) })
        const outcome = await api.publish({ clientId, topic: frame.topic, data: frame.message })
        this.deps.metrics.published.inc({ status: outcome.status })
        return
      }
      default:
        throw new OptimumError('invalid_argument', `unknown frame type ${JSON.stringify(frame.type.slice(0, 40))} (expected subscribe, unsubscribe or publish)`)
    }
  }

  private refuse(frame: ProxyMessage, err: unknown): void {
    const message = isOptimumError(err) ? err.message : 'internal error'
    if (!isOptimumError(err)) this.deps.log.error({ err, clientId: this.clientId }, 'gRPC stream frame failed')
    this.write({ client_id: this.clientId ?? '', type: 'error', topic: frame.topic, message_id: frame.message_id, message: Buffer.from(message) }, 0)
  }

  private messageFrame(delivery: Delivery): ProxyMessage {
    const data = delivery.data
    return {
      client_id: this.clientId ?? '',
      type: 'message',
      topic: delivery.topic,
      message_id: delivery.messageId,
      message: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    }
  }

  /** False (slow consumer) once the unsent frames pass the buffer; `delivery` is reported sent when grpc-js takes the frame. */
  private write(frame: ProxyMessage, bodyBytes: number, delivery?: Delivery): boolean {
    if (this.ended) return true
    const size = bodyBytes + FRAME_OVERHEAD
    if (this.unsent + size > this.deps.bufferBytes) return false
    this.unsent += size
    this.call.write(frame, () => {
      this.unsent -= size
      if (delivery) {
        this.tracker.sent(delivery)
        this.deps.metrics.delivered.inc({ transport: 'grpc' })
      }
    })
    return true
  }

  private finish(): void {
    if (this.ended) return
    this.ended = true
    void this.tracker.detach().catch((err: unknown) => this.deps.log.warn({ clientId: this.clientId, err }, 'storing cursors failed'))
    this.onEnd()
  }
}
