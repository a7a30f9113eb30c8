import { createHash } from 'node:crypto'
import { gossipsub, TopicValidatorResult, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { GossipsubConfig } from '../../common/config/index.js'
import { OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import { TimeCache } from '../../common/time-cache.js'
import type { DeliveredMessage, MessageListener, PubSubEngine, PublishResult } from './engine.js'
import { decodeEnvelope, encodeEnvelope, newMessageId } from './envelope.js'
import { assertMessageId, assertMessageSize, assertTopic } from './validation.js'

const SEEN_TTL_MS = 120_000
/** Bounds the seen-id cache under a flood: ~200k ids × ~100 B. */
const SEEN_MAX = 200_000
/**
 * gossipsub writes to a peer without backpressure; past this many buffered
 * bytes it gives up on that peer's stream instead of holding unbounded memory.
 */
const MAX_OUTBOUND_BUFFER = 64 * 1024 * 1024

const EMPTY = new Uint8Array(0)

/**
 * The gossipsub service for libp2p, configured from GOSSIPSUB_*. The network
 * message id is the hash of the envelope (id + payload): every node computes
 * the same one, and a peer cannot squat a future message's id without knowing
 * its content.
 */
export function gossipsubService(config: GossipsubConfig): ReturnType<typeof gossipsub> {
  const { min, target, max } = config.mesh
  // fastMsgIdFn hashes every arriving copy, and msgIdFn then wants the same
  // digest of the first one (gossipsub hands both the same data array): hash once.
  const digests = new WeakMap<Uint8Array, Buffer>()
  const digestOf = (data: Uint8Array): Buffer => {
    let digest = digests.get(data)
    if (digest === undefined) {
      digest = createHash('sha256').update(data).digest()
      digests.set(data, digest)
    }
    return digest
  }
  const options: Partial<GossipsubOpts> = {
    D: target,
    Dlo: min,
    Dhi: max,
    // gossipsub requires Dout < Dlo and Dout <= D/2, and Dscore <= D
    Dout: Math.max(0, Math.min(2, min - 1, Math.floor(target / 2))),
    Dscore: Math.min(4, target),
    globalSignaturePolicy: 'StrictSign',
    fallbackToFloodsub: false,
    allowPublishToZeroTopicPeers: true,
    msgIdFn: (message) => digestOf(message.data),
    // Dedup before the signature check: duplicates are most of what a mesh receives.
    fastMsgIdFn: (message) => digestOf(message.data ?? EMPTY).toString('base64'),
    msgIdToStrFn: (id) => Buffer.from(id).toString('base64'),
    seenTTL: SEEN_TTL_MS,
    maxOutboundBufferSize: MAX_OUTBOUND_BUFFER,
    // Nodes that share one host (a laptop, one VM) all come from the same IP;
    // colocation scoring would make them ignore each other. Other IPs keep it.
    scoreParams: { IPColocationFactorWhitelist: new Set(['127.0.0.1', '::1']) },
  }
  return gossipsub(options)
}

export interface GossipsubEngineOptions {
  pubsub: GossipSub
  maxMessageSize: number
  log: Logger
}

/** PubSubEngine over @libp2p/gossipsub: envelopes, validation, local delivery, idempotent publish. */
export class GossipsubEngine implements PubSubEngine {
  readonly mode = 'gossipsub' as const
  readonly maxMessageSize: number
  private readonly pubsub: GossipSub
  private readonly log: Logger
  private readonly listeners = new Set<MessageListener>()
  /** Envelope ids already delivered or published here: one message per id, whatever its path. */
  private readonly seen = new TimeCache<string>(SEEN_TTL_MS, SEEN_MAX)
  private readonly selfId: string
  /** Mirrors gossipsub's own topic list, which it rebuilds as an array on every read. */
  private readonly subscribed = new Set<string>()

  constructor(options: GossipsubEngineOptions & { selfId: PeerId }) {
    this.pubsub = options.pubsub
    this.maxMessageSize = options.maxMessageSize
    this.log = options.log
    this.selfId = options.selfId.toString()
    this.pubsub.addEventListener('message', (event) => this.receive(event.detail))
  }

  subscribe(topic: string): void {
    assertTopic(topic)
    this.pubsub.topicValidators.set(topic, this.validate)
    this.pubsub.subscribe(topic)
    this.subscribed.add(topic)
    this.log.info({ topic }, 'subscribed to topic')
  }

  unsubscribe(topic: string): void {
    this.pubsub.unsubscribe(topic)
    this.subscribed.delete(topic)
    this.pubsub.topicValidators.delete(topic)
    this.log.info({ topic }, 'unsubscribed from topic')
  }

  topics(): string[] {
    return [...this.subscribed]
  }

  meshPeers(topic: string): string[] {
    // getMeshPeers exists on the class but not on the exported interface
    const withMesh = this.pubsub as GossipSub & { getMeshPeers?: (topic: string) => string[] }
    return withMesh.getMeshPeers?.(topic) ?? []
  }

  async publish(topic: string, data: Uint8Array, id?: string): Promise<PublishResult> {
    assertTopic(topic)
    assertMessageSize(data, this.maxMessageSize)
    const messageId = id ?? newMessageId()
    assertMessageId(messageId)
    if (!this.seen.add(messageId)) return { id: messageId, fresh: false, peers: 0 }

    let recipients: number
    try {
      recipients = (await this.pubsub.publish(topic, encodeEnvelope(messageId, data))).recipients.length
    } catch (err) {
      if ((err as Error).message === 'PublishError.Duplicate') return { id: messageId, fresh: false, peers: 0 }
      this.seen.delete(messageId)
      throw new OptimumError('unavailable', `publish failed: ${(err as Error).message}`)
    }
    if (this.subscribed.has(topic)) {
      this.emit({ id: messageId, topic, data, source: this.selfId })
    }
    return { id: messageId, fresh: true, peers: recipients }
  }

  onMessage(listener: MessageListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Runs on every message before gossipsub forwards it: a peer that sends a bad one is penalised. */
  private readonly validate = (_peer: PeerId, message: Message): TopicValidatorResult => {
    try {
      const { payload } = decodeEnvelope(message.data)
      return payload.length <= this.maxMessageSize ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
    } catch {
      return TopicValidatorResult.Reject
    }
  }

  private receive(message: Message): void {
    if (message.type !== 'signed') return
    let envelope
    try {
      envelope = decodeEnvelope(message.data)
    } catch {
      return // the validator already rejected it; a message that raced an unsubscribe is dropped too
    }
    if (!this.seen.add(envelope.id)) return
    this.emit({ id: envelope.id, topic: message.topic, data: envelope.payload, source: message.from.toString() })
  }

  private emit(message: DeliveredMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message)
      } catch (err) {
        this.log.error({ err, topic: message.topic, id: message.id }, 'message listener failed')
      }
    }
  }
}
