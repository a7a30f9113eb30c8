import * as grpc from '@grpc/grpc-js'
import { fromGrpcError } from '../../common/grpc-status.js'
import type { Logger } from '../../common/logger.js'
import { Command, ResponseType, type CommandStreamClient, type PublishAck, type SidecarRequest, type SidecarResponse } from '../../common/proto.js'
import { connectSidecar } from '../../common/sidecar-client.js'
import { backoffDelay, type BackoffPolicy } from '../../common/backoff.js'
import type { Arrival } from '../store/store.js'
import { parseDelivery } from './delivered.js'

export type LinkState = 'connecting' | 'up' | 'down'

export interface NodeLinkOptions {
  /** `host:port` of the node's sidecar; also the node's name in receipts. */
  address: string
  log: Logger
  backoff: BackoffPolicy
  /** Called for every delivery on a wanted topic, in stream order; the link pauses the stream while too many are pending. */
  onDelivery(delivery: Arrival): Promise<void>
  onStateChange?(link: NodeLink): void
  /** When set, subscribes ask for the node's trace events (Request.trace) and each trace response goes here. */
  onTrace?(response: SidecarResponse): void
  /** P2P_NODE_TOKEN: the JWT this proxy presents, in every request's `jwt_token` and as Bearer metadata (nodes with SIDECAR_AUTH). */
  token?: string
}

/** Deliveries being recorded before the link stops reading from the node (the node's own queue holds the rest). */
const MAX_PENDING_DELIVERIES = 2_000
/** How long one connection attempt may take. */
const CONNECT_TIMEOUT_MS = 3_000
const KEEPALIVE = { keepaliveIntervalMs: 30_000, keepaliveTimeoutMs: 20_000 }

/**
 * One proxy's sidecar stream to one node: connects (waits for the channel, then
 * opens `ListenCommands`), keeps the node subscribed to the wanted topics,
 * reconnects with capped jittered backoff, and publishes through the node's
 * acked unary `Publish`. It owns its reconnect loop: `stop()` ends it.
 */
export class NodeLink {
  readonly address: string
  private _state: LinkState = 'down'
  private readonly client: CommandStreamClient
  private call: grpc.ClientDuplexStream<Partial<SidecarRequest>, SidecarResponse> | undefined
  private readonly wanted = new Set<string>()
  /** Topics subscribed on the current call. */
  private readonly subscribed = new Set<string>()
  private attempt = 0
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private pending = 0
  private paused = false
  private readonly log: Logger

  constructor(private readonly options: NodeLinkOptions) {
    this.address = options.address
    this.log = options.log.child({ node: options.address })
    this.client = connectSidecar(options.address, { keepalive: KEEPALIVE, ...(options.token !== undefined && { token: options.token }) })
  }

  get state(): LinkState {
    return this._state
  }

  start(): void {
    this.connect()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.call?.cancel()
    this.call = undefined
    this.client.close()
    this.setState('down')
  }

  /** The topics this node should deliver to us; applied at once when up, on (re)connect otherwise. */
  setTopics(topics: Iterable<string>): void {
    const next = new Set(topics)
    for (const topic of this.wanted) if (!next.has(topic)) this.wanted.delete(topic)
    for (const topic of next) this.wanted.add(topic)
    this.syncSubscriptions()
  }

  /** Publishes through the node's acked unary RPC; rejects with an OptimumError. */
  publish(topic: string, data: Buffer, messageId: string, timeoutMs: number): Promise<PublishAck> {
    return new Promise((resolve, reject) => {
      this.client.Publish({ topic, data, message_id: messageId }, { deadline: Date.now() + timeoutMs }, (err, ack) => {
        if (err) reject(fromGrpcError(err))
        else resolve(ack!)
      })
    })
  }

  private connect(): void {
    if (this.stopped) return
    this.setState('connecting')
    this.client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) => {
      if (this.stopped) return
      if (err) {
        this.retry(err.message)
        return
      }
      this.openStream()
    })
  }

  private openStream(): void {
    const call = this.client.ListenCommands()
    this.call = call
    this.subscribed.clear()
    call.on('data', (response: SidecarResponse) => this.onResponse(response))
    call.on('error', (err: grpc.ServiceError) => this.onStreamEnd(call, err.details || err.message))
    call.on('status', (status: grpc.StatusObject) => this.onStreamEnd(call, status.details || `status ${status.code}`))
    this.attempt = 0
    this.setState('up')
    this.syncSubscriptions()
  }

  private onStreamEnd(call: grpc.ClientDuplexStream<Partial<SidecarRequest>, SidecarResponse>, reason: string): void {
    if (this.call !== call || this.stopped) return
    this.call = undefined
    this.subscribed.clear()
    this.retry(reason)
  }

  private retry(reason: string): void {
    const delay = backoffDelay(this.options.backoff, this.attempt++)
    if (this._state !== 'down') this.log.warn({ reason, retryInMs: delay }, 'node connection lost')
    this.setState('down')
    this.timer = setTimeout(() => this.connect(), delay)
  }

  private syncSubscriptions(): void {
    const call = this.call
    if (!call || this._state !== 'up') return
    for (const topic of this.subscribed) {
      if (this.wanted.has(topic)) continue
      call.write({ command: Command.Unsubscribe, topic, jwt_token: this.options.token ?? '' })
      this.subscribed.delete(topic)
    }
    for (const topic of this.wanted) {
      if (this.subscribed.has(topic)) continue
      call.write({ command: Command.Subscribe, topic, trace: this.options.onTrace !== undefined, jwt_token: this.options.token ?? '' })
      this.subscribed.add(topic)
    }
  }

  private onResponse(response: SidecarResponse): void {
    if (response.command !== ResponseType.Message) {
      if (response.command === ResponseType.MessageTraceMumP2P || response.command === ResponseType.MessageTraceGossipSub) {
        this.options.onTrace?.(response)
      } else if (response.command === ResponseType.Unknown) {
        this.log.warn({ response: Buffer.from(response.data).toString('utf8').slice(0, 500) }, 'node refused a command')
      }
      return
    }
    const delivery = parseDelivery(this.address, response.data)
    if (!delivery) {
      this.log.warn('node sent a delivery that is not valid JSON; ignored')
      return
    }
    if (!this.wanted.has(delivery.topic)) return
    this.pending++
    if (this.pending >= MAX_PENDING_DELIVERIES && !this.paused) {
      this.paused = true
      this.call?.pause()
    }
    this.options
      .onDelivery(delivery)
      .catch((err: unknown) => this.log.error({ err, topic: delivery.topic, messageId: delivery.messageId }, 'recording a delivery failed'))
      .finally(() => {
        this.pending--
        if (this.paused && this.pending <= MAX_PENDING_DELIVERIES / 2) {
          this.paused = false
          this.call?.resume()
        }
      })
  }

  private setState(state: LinkState): void {
    if (this._state === state) return
    this._state = state
    if (state === 'up') this.log.info('node connected')
    this.options.onStateChange?.(this)
  }
}
