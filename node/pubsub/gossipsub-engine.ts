import { createHash } from 'node:crypto'
import { gossipsub, TopicValidatorResult, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { GossipsubConfig } from '../../common/config/index.js'
import { OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import type { DeliveredMessage, MessageListener, PubSubEngine, PublishResult } from './engine.js'
import { decodeEnvelope, encodeEnvelope, newMessageId } from './envelope.js'
import { bodyDigest, SeenMessages } from './seen-messages.js'
import { assertMessageId, assertMessageSize, assertTopic } from './validation.js'
import type { NodeTrace } from '../trace/types.js'

/** The idempotency window (node/sidecar/README.md): how long an id is remembered… */
export const SEEN_TTL_MS = 120_000
/** …and how many at most (under a flood the oldest go first): ~200k ids × ~150 B. */
export const SEEN_MAX = 200_000
/**
 * gossipsub writes to a peer without backpressure; past this many buffered
 * bytes it gives up on that peer's stream instead of holding unbounded memory.
 */
const MAX_OUTBOUND_BUFFER = 64 * 1024 * 1024

const EMPTY = new Uint8Array(0)

/**
 * The gossipsub service for libp2p, configured from GOSSIPSUB_*. gossipsub's
 * own message id is the hash of the envelope (id + payload): every node
 * computes the same one, and gossipsub's dedupe cannot be squatted. Delivery
 * to local subscribers dedupes on the envelope's id, though (see
 * GossipsubEngine and node/sidecar/README.md for what that trusts).
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
  /** Events only the engine sees (its publishes, joins, leaves, rejections); gossipsub's own are in trace/gossipsub-source.ts. */
  trace?: (event: Omit<NodeTrace, 'time'>) => void
}

/**
 * PubSubEngine over @libp2p/gossipsub: envelopes, validation, local delivery,
 * idempotent publish.
 *
 * Idempotency: an id published or delivered here within SEEN_TTL_MS (and
 * among the last SEEN_MAX ids) is remembered with the digest of its body.
 * Publishing it again with the same body is a no-op (`fresh: false`); with
 * another body it is refused with 'already_exists'. Two publishes of one id
 * at once: the second waits for the first's outcome. A publish that fails
 * leaves its id unseen, so a retry goes out. A message that arrives with a
 * seen id is dropped, whatever its body: the first body wins.
 */
export class GossipsubEngine implements PubSubEngine {
  readonly mode = 'gossipsub' as const
  readonly maxMessageSize: number
  private readonly pubsub: GossipSub
  private readonly log: Logger
  private readonly listeners = new Set<MessageListener>()
  /** Envelope ids already delivered or published here: one message per id, whatever its path. */
  private readonly seen = new SeenMessages(SEEN_TTL_MS, SEEN_MAX)
  /** Publishes under way, by id: a second publish of the id waits for the first. */
  private readonly publishing = new Map<string, Promise<unknown>>()
  private readonly selfId: string
  /** Mirrors gossipsub's own topic list, which it rebuilds as an array on every read. */
  private readonly subscribed = new Set<string>()
  private readonly trace: (event: Omit<NodeTrace, 'time'>) => void

  constructor(options: GossipsubEngineOptions & { selfId: PeerId }) {
    this.pubsub = options.pubsub
    this.maxMessageSize = options.maxMessageSize
    this.log = options.log
    this.selfId = options.selfId.toString()
    this.trace = options.trace ?? (() => {})
    this.pubsub.addEventListener('message', (event) => this.receive(event.detail))
  }

  subscribe(topic: string): void {
    assertTopic(topic)
    this.pubsub.topicValidators.set(topic, this.validate)
    this.pubsub.subscribe(topic)
    this.subscribed.add(topic)
    this.trace({ kind: 'join', topic })
    this.log.info({ topic }, 'subscribed to topic')
  }

  unsubscribe(topic: string): void {
    this.pubsub.unsubscribe(topic)
    this.subscribed.delete(topic)
    this.pubsub.topicValidators.delete(topic)
    this.trace({ kind: 'leave', topic })
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
    const digest = bodyDigest(data)
    for (let earlier = this.publishing.get(messageId); earlier !== undefined; earlier = this.publishing.get(messageId)) {
      await earlier.catch(() => {})
    }
    const seen = this.seen.digestOf(messageId)
    if (seen !== undefined) {
      if (!seen.equals(digest)) {
        throw new OptimumError('already_exists', `message id ${messageId} was already published with a different body`)
      }
      return { id: messageId, fresh: false, peers: 0 }
    }
    const envelope = encodeEnvelope(messageId, data)
    this.seen.add(messageId, digest)
    const attempt = this.pubsub.publish(topic, envelope)
    this.publishing.set(messageId, attempt)
    let recipients: number
    try {
      recipients = (await attempt).recipients.length
    } catch (err) {
      // gossipsub holds this very envelope (same id, same body): the network has it
      if ((err as Error).message === 'PublishError.Duplicate') return { id: messageId, fresh: false, peers: 0 }
      this.seen.delete(messageId)
      throw new OptimumError('unavailable', `publish failed: ${(err as Error).message}`)
    } finally {
      this.publishing.delete(messageId)
    }
    this.trace({ kind: 'publish', topic, messageId })
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
  private readonly validate = (peer: PeerId, message: Message): TopicValidatorResult => {
    let envelope
    try {
      envelope = decodeEnvelope(message.data)
    } catch {
      this.trace({ kind: 'reject', topic: message.topic, peer: peer.toString(), reason: 'bad_envelope' })
      return TopicValidatorResult.Reject
    }
    if (envelope.payload.length <= this.maxMessageSize) return TopicValidatorResult.Accept
    this.trace({ kind: 'reject', topic: message.topic, messageId: envelope.id, peer: peer.toString(), reason: 'too_large' })
    return TopicValidatorResult.Reject
  }

  private receive(message: Message): void {
    if (message.type !== 'signed') return
    let envelope
    try {
      envelope = decodeEnvelope(message.data)
    } catch {
      return // the validator already rejected it; a message that raced an unsubscribe is dropped too
    }
    if (!this.seen.add(envelope.id, bodyDigest(envelope.payload))) return
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
