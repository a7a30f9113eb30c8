import { Decoder, Encoder, shardLengthFor } from '../../common/rlnc/index.js'
import { OptimumError } from '../../common/errors.js'
import { assertMessageId, assertMessageSize, assertTopic } from '../pubsub/validation.js'
import { Forwarding } from './forwarding.js'
import { Gossip } from './gossip.js'
import { headerProblem, headerSigningBytes, sameBytes, sameHeader, sha256 } from './header.js'
import { Integrity } from './integrity.js'
import { resolveLimits } from './limits.js'
import { Mesh } from './mesh.js'
import { MessageState } from './message-state.js'
import { MessageStore } from './message-store.js'
import { Outbox } from './outbox.js'
import { Rng } from './rng.js'
import { PeerScores, type Offence } from './score.js'
import { SeenCache } from './seen-cache.js'
import { readPeerInfo, readShard, readTopic } from './validate.js'
import type {
  Control,
  CoreEnv,
  CoreLimits,
  CoreOptions,
  CoreOutputs,
  CorePublishResult,
  CoreStats,
  OptimumCore,
  PeerKey,
  Rpc,
  Shard,
  TraceEvent,
  TraceKind,
} from './types.js'

const MIN_BACKOFF_MS = 1000
const MAX_BACKOFF_MS = 3600_000

export function createOptimumCore(options: CoreOptions, env: CoreEnv, outputs: CoreOutputs): OptimumCore {
  return new OptimumProtocol(options, env, outputs)
}

type Counters = Omit<CoreStats, 'peers' | 'messages' | 'undecoded' | 'undecodedBytes' | 'retainedBytes' | 'seen' | 'deferred' | 'owedLost'>

/**
 * Wires mesh, message store, forwarding policy, repair and scores into the
 * OptimumCore contract. Every entry point collects its frames in the outbox
 * and flushes once, so a call sends at most one frame per peer.
 */
class OptimumProtocol implements OptimumCore {
  private readonly limits: CoreLimits
  private readonly rng: Rng
  private readonly mesh: Mesh
  private readonly store: MessageStore
  private readonly seen: SeenCache
  private readonly scores: PeerScores
  private readonly outbox: Outbox
  private readonly forwarding: Forwarding
  private readonly gossip: Gossip
  private readonly integrity: Integrity
  private readonly connected = new Set<PeerKey>()
  /** Messages whose pull after an IDONTWANT waits for their shards to stop coming in (pullFromDecoded). */
  private readonly deferredPulls = new Map<MessageState, PeerKey>()
  private readonly counters: Counters = {
    shardsReceived: 0,
    shardsInnovative: 0,
    shardsRedundant: 0,
    shardsSent: 0,
    recodes: 0,
    decoded: 0,
    decodeFailures: 0,
    idontwantSent: 0,
    iwantSent: 0,
    ihaveSent: 0,
    overduePeers: 0,
  }
  /** Decoded bodies land here (Delivery.data is a view of it). */
  private pool = new Uint8Array(0)
  private stopped = false
  /** Whose turn is first at the next uplinkDrained. */
  private uplinkTurn = 0

  constructor(
    private readonly options: CoreOptions,
    private readonly env: CoreEnv,
    private readonly outputs: CoreOutputs,
  ) {
    const { mesh } = options
    if (!(mesh.min <= mesh.target && mesh.target <= mesh.max && mesh.min >= 0)) {
      throw new OptimumError('invalid_argument', `mesh sizes must satisfy 0 ≤ min ≤ target ≤ max, got ${mesh.min}/${mesh.target}/${mesh.max}`)
    }
    this.limits = resolveLimits(options.limits)
    const now = (): number => env.now()
    this.rng = new Rng(env.random)
    this.mesh = new Mesh({ ...mesh, fanoutTtlMs: this.limits.fanoutTtlMs, pruneBackoffMs: this.limits.pruneBackoffMs, maxTopicsPerPeer: this.limits.maxTopicsPerPeer }, this.rng, now)
    this.store = new MessageStore(this.limits, () => this.relieve())
    this.seen = new SeenCache(this.limits.seenTtlMs, this.limits.seenMax, now)
    this.scores = new PeerScores(this.limits.disconnectScore, this.limits.scoreDecay)
    this.outbox = new Outbox((peer, rpc) => outputs.send(peer, rpc))
    this.forwarding = new Forwarding({
      store: this.store,
      targets: (state) => this.mesh.meshPeers(state.topic),
      backlogged: (peer) =>
        env.backlog(peer) + this.outbox.bytes(peer) >= this.limits.backlogBytes ||
        (env.uplinkBacklog?.() ?? 0) >= this.limits.uplinkBacklogBytes,
      send: (peer, state, shards, hop) => this.sendShards(peer, state, shards, hop),
      recodeFrom: (k) => Math.ceil(k * options.threshold),
      maxOwedBytesPerPeer: this.limits.maxOwedBytesPerPeer,
      overdue: (peer, bytes) => this.cutOff(peer, `owed ${bytes} bytes of messages it does not drain (bound ${this.limits.maxOwedBytesPerPeer})`),
      fanout: (state) => (this.large(state) ? this.limits.relayFanout : Infinity),
      shuffle: (items) => this.rng.shuffle(items),
      recoded: (count) => (this.counters.recodes += count),
    })
    this.gossip = new Gossip({
      store: this.store,
      mesh: this.mesh,
      rng: this.rng,
      limits: this.limits,
      now,
      heartbeatMs: options.heartbeatMs,
      seen: (id) => this.seen.has(id),
      serve: (peer, state, count) => this.serve(peer, state, count),
    })
    this.integrity = new Integrity({
      now,
      rng: this.rng,
      mesh: this.mesh,
      freshDecoder: (state) => this.freshDecoder(state),
      offence: (peer, offence, reason) => this.offence(peer, offence, reason),
      ask: (peer, state, count) => {
        this.outbox.control(peer, 'iwant', [{ messageId: state.id, count }])
        this.counters.iwantSent++
      },
    })
  }

  addPeer(peer: PeerKey, _outbound: boolean): void {
    if (this.stopped || peer === this.env.self || this.connected.has(peer)) return
    this.connected.add(peer)
    this.mesh.addPeer(peer)
    this.trace('add_peer', { peer })
    const topics = this.mesh.topics()
    if (topics.length > 0) this.outbox.subscriptions(peer, topics.map((topic) => ({ topic, subscribe: true })))
    this.outbox.flush()
  }

  removePeer(peer: PeerKey): void {
    if (!this.connected.delete(peer)) return
    this.mesh.removePeer(peer)
    this.store.forgetPeer(peer)
    this.forwarding.forgetPeer(peer)
    this.gossip.forgetPeer(peer)
    this.outbox.drop(peer)
    this.scores.forget(peer)
    this.integrity.forgetPeer(peer)
    this.trace('remove_peer', { peer })
  }

  handleRpc(from: PeerKey, rpc: Rpc): void {
    if (this.stopped || !this.connected.has(from)) return
    try {
      if (typeof rpc !== 'object' || rpc === null) return this.offence(from, 'invalid', 'frame is not an object')
      this.handleSubscriptions(from, rpc.subscriptions)
      this.handleShards(from, rpc.shards)
      if (rpc.control !== undefined && this.connected.has(from)) this.handleControl(from, rpc.control)
    } catch (err) {
      // Peer input must never break the core; a frame that reaches here is malformed in a way the checks missed.
      this.trace('reject', { peer: from, reason: `internal: ${(err as Error).message}` })
      this.offence(from, 'invalid', 'frame broke a handler')
    } finally {
      this.pullDeferred()
      this.outbox.flush()
    }
  }

  heartbeat(): void {
    if (this.stopped) return
    const now = this.env.now()
    this.scores.heartbeat()
    this.store.expire(now)
    this.seen.prune()
    const changes = this.mesh.heartbeat()
    for (const [peer, topics] of changes.graft) {
      this.outbox.control(peer, 'graft', topics.map((topic) => ({ topic })))
      for (const topic of topics) this.trace('graft', { peer, topic })
    }
    for (const [peer, topics] of changes.prune) for (const topic of topics) this.sendPrune(peer, topic)
    this.gossip.heartbeat()
    for (const [peer, wants] of this.gossip.stalled((state) => this.integrity.nextSource(state, state.quarantined))) {
      this.outbox.control(peer, 'iwant', wants)
      this.counters.iwantSent += wants.length
    }
    for (const [peer, ihaves] of this.gossip.advertise()) {
      this.outbox.control(peer, 'ihave', ihaves)
      this.counters.ihaveSent++
    }
    this.pullDeferred()
    this.outbox.flush()
  }

  drained(peer: PeerKey): void {
    if (this.stopped || !this.connected.has(peer)) return
    this.forwarding.drained(peer)
    this.pullDeferred()
    this.outbox.flush()
  }

  uplinkDrained(): void {
    if (this.stopped) return
    // A fixed order would serve the same peers first on every drain and starve
    // the last under sustained load; one turn at a time each peer gets to be first.
    const peers = [...this.connected]
    const start = this.uplinkTurn++ % Math.max(1, peers.length)
    for (const peer of [...peers.slice(start), ...peers.slice(0, start)]) {
      this.forwarding.drained(peer)
      // Handed to the carrier at once, so the next peer's turn sees the uplink as it now is.
      this.outbox.flush()
    }
    this.pullDeferred()
    this.outbox.flush()
  }

  publish(topic: string, data: Uint8Array, id: string): CorePublishResult {
    if (this.stopped) throw new OptimumError('unavailable', 'the optimum protocol is stopped')
    assertTopic(topic)
    assertMessageId(id)
    assertMessageSize(data, this.options.maxMessageSize)
    const hash = sha256(data)
    const held = this.store.get(id)
    const same = held !== undefined ? sameBytes(held.header.hash, hash) : this.seen.sameContent(id, hash)
    if (same === true) return { id, fresh: false, peers: 0 }
    if (same === false) throw new OptimumError('already_exists', `message id ${id} was already used for other content`)
    const k = this.options.shardFactor
    const now = this.env.now()
    const unsigned = { messageId: id, topic, length: data.length, k, hash, publishedAt: this.env.wallClock?.() ?? now }
    const header = { ...unsigned, publisher: this.env.publicKey, signature: this.env.sign(headerSigningBytes(unsigned)) }
    const encoder = new Encoder(this.env.kernel, data, k, { random: this.env.random })
    const state = new MessageState(header, this.env.self, now, undefined, encoder, encoder.shardLength)
    this.store.add(state)
    this.seen.add(id, hash)
    const peers = this.mesh.publishPeers(topic)
    if (peers.length > 0) {
      const count = Math.ceil(k * this.options.shardMultiplier)
      this.forwarding.spread(state, state.recode(count), peers)
    }
    this.trace('publish', { topic, messageId: id })
    this.outbox.flush()
    return { id, fresh: true, peers: peers.length }
  }

  subscribe(topic: string): void {
    assertTopic(topic)
    if (this.stopped || this.mesh.subscribed(topic)) return
    const grafts = this.mesh.join(topic)
    this.trace('join', { topic })
    for (const peer of this.connected) this.outbox.subscriptions(peer, [{ topic, subscribe: true }])
    for (const peer of grafts) {
      this.outbox.control(peer, 'graft', [{ topic }])
      this.trace('graft', { peer, topic })
    }
    this.outbox.flush()
  }

  unsubscribe(topic: string): void {
    if (this.stopped || !this.mesh.subscribed(topic)) return
    const pruned = this.mesh.leave(topic)
    this.trace('leave', { topic })
    for (const peer of this.connected) this.outbox.subscriptions(peer, [{ topic, subscribe: false }])
    for (const peer of pruned) this.sendPrune(peer, topic)
    this.outbox.flush()
  }

  topics(): string[] {
    return this.mesh.topics()
  }

  meshPeers(topic: string): PeerKey[] {
    return this.mesh.meshPeers(topic)
  }

  peers(): PeerKey[] {
    return [...this.connected]
  }

  score(peer: PeerKey): number {
    return this.scores.score(peer)
  }

  stats(): CoreStats {
    return {
      ...this.counters,
      peers: this.connected.size,
      messages: this.store.size,
      undecoded: this.store.undecoded,
      undecodedBytes: this.store.undecodedBytes,
      retainedBytes: this.store.retainedBytes,
      seen: this.seen.size,
      deferred: this.forwarding.deferred,
      owedLost: this.forwarding.owedLost,
    }
  }

  stop(): void {
    this.stopped = true
    this.deferredPulls.clear()
    this.store.clear()
    this.forwarding.clear()
    this.pool = new Uint8Array(0)
  }

  private handleSubscriptions(from: PeerKey, subscriptions: Rpc['subscriptions']): void {
    if (subscriptions === undefined) return
    if (!Array.isArray(subscriptions)) return this.offence(from, 'invalid', 'subscriptions is not a list')
    if (subscriptions.length > this.limits.maxControlPerRpc) this.offence(from, 'flood', 'too many subscriptions in one frame')
    for (const sub of subscriptions.slice(0, this.limits.maxControlPerRpc)) {
      const topic = readTopic(sub?.topic)
      if (topic === undefined || typeof sub.subscribe !== 'boolean') return this.offence(from, 'invalid', 'malformed subscription')
      if (!this.mesh.peerSubscription(from, topic, sub.subscribe)) return this.offence(from, 'flood', 'too many topics')
    }
  }

  private handleShards(from: PeerKey, shards: Rpc['shards']): void {
    if (shards === undefined) return
    if (!Array.isArray(shards)) return this.offence(from, 'invalid', 'shards is not a list')
    if (shards.length > this.limits.maxShardsPerRpc) this.offence(from, 'flood', 'too many shards in one frame')
    for (const shard of shards.slice(0, this.limits.maxShardsPerRpc)) {
      if (!this.connected.has(from)) return
      this.receiveShard(from, shard)
    }
  }

  private receiveShard(from: PeerKey, raw: unknown): void {
    const shard = readShard(raw)
    if (shard === undefined) return this.offence(from, 'invalid', 'malformed shard')
    this.counters.shardsReceived++
    const id = shard.messageId
    let state = this.store.get(id)
    if (state === undefined) {
      if (this.seen.has(id)) {
        this.counters.shardsRedundant++
        return this.trace('duplicate_shard', { peer: from, messageId: id })
      }
      if (shard.header === undefined) return this.trace('reject', { peer: from, messageId: id, reason: 'no_header' })
      state = this.open(from, shard)
      if (state === undefined) return
    } else if (shard.header !== undefined && !sameHeader(shard.header, state.header)) {
      return this.trace('reject', { peer: from, messageId: id, reason: 'header_mismatch' })
    }
    if (shard.coefficients.length !== state.k || shard.payload.length !== state.shardLength) {
      return this.offence(from, 'invalid', `shard of ${id} has the wrong size`)
    }
    if (state.excluded.has(from)) return this.trace('reject', { peer: from, messageId: id, reason: 'excluded' })
    if (state.lockedTo !== undefined && state.lockedTo !== from) return this.trace('reject', { peer: from, messageId: id, reason: 'retrying_elsewhere' })
    const decoder = state.decoder
    if (state.delivered || decoder === undefined) {
      state.noteReceived(from, false)
      this.counters.shardsRedundant++
      return this.trace('unnecessary_shard', { peer: from, messageId: id, topic: state.topic })
    }
    const innovative = decoder.add(shard)
    state.noteReceived(from, innovative)
    if (!innovative) {
      this.counters.shardsRedundant++
      this.trace('unhelpful_shard', { peer: from, messageId: id, topic: state.topic })
      return this.askAgain(from, state)
    }
    this.counters.shardsInnovative++
    this.trace('new_shard', { peer: from, messageId: id, topic: state.topic, coefficients: shard.coefficients })
    state.attempt.push({ peer: from, afterDecode: state.decodedBy(from), coefficients: shard.coefficients, payload: shard.payload })
    state.hop = Math.min(state.hop, shard.hop)
    state.lastProgressAt = this.env.now()
    state.lastProgressFrom = from
    if (this.scores.score(from) < 0 || this.integrity.isSuspicious(from)) state.quarantined = true
    if (decoder.complete) return this.complete(state, decoder, from)
    if (state.relayable) this.forwarding.innovative(state, shard, shard.hop, from)
    if (this.shardBytes(state) >= this.limits.rankUpdateMinShardBytes) this.announceRank(state)
  }

  /** Whether the message is relayed as a large one (a few neediest peers) or a small one (every peer with room). */
  private large(state: MessageState): boolean {
    return this.shardBytes(state) >= this.limits.relayFanoutMinShardBytes
  }

  /** The message's bytes per shard as the header states them: the size the network really carries, not the framed length. */
  private shardBytes(state: MessageState): number {
    return state.header.length / state.k
  }

  /** Tells mesh peers that may still send us shards of the message our new rank. */
  private announceRank(state: MessageState): void {
    const ihave = [{ topic: state.topic, messages: [{ messageId: state.id, rank: state.rank }] }]
    for (const peer of this.mesh.meshPeers(state.topic)) {
      const view = state.peekView(peer)
      if (view !== undefined && (view.dontWant || view.told >= state.k)) continue
      this.outbox.control(peer, 'ihave', ihave)
    }
  }

  /** The first shard of a message we have no state for: check its header and admit it within the bounds. */
  private open(from: PeerKey, shard: Shard): MessageState | undefined {
    const header = shard.header!
    const problem = headerProblem(header, this.options.maxMessageSize) ?? (header.messageId === shard.messageId ? undefined : 'header is for another id')
    if (problem !== undefined) {
      this.offence(from, 'invalid', `bad header: ${problem}`)
      return undefined
    }
    const shardLength = shardLengthFor(header.length, header.k)
    if (shard.coefficients.length !== header.k || shard.payload.length !== shardLength) {
      this.offence(from, 'invalid', `shard of ${header.messageId} has the wrong size`)
      return undefined
    }
    if (!this.mesh.subscribed(header.topic)) {
      this.trace('reject', { peer: from, messageId: header.messageId, topic: header.topic, reason: 'not_subscribed' })
      return undefined
    }
    const source = this.env.verify(header.publisher, headerSigningBytes(header), header.signature)
    if (source === undefined) {
      this.offence(from, 'signature', `bad signature on ${header.messageId}`)
      return undefined
    }
    const refusal = this.store.admit(from, header.k * shardLength)
    if (refusal !== undefined) {
      this.trace('reject', { peer: from, messageId: header.messageId, topic: header.topic, reason: refusal })
      if (refusal.startsWith('peer_')) this.offence(from, 'flood', refusal)
      return undefined
    }
    const decoder = new Decoder(this.env.kernel, header.k, shardLength, { random: this.env.random })
    const state = new MessageState(header, source, this.env.now(), from, decoder, shardLength)
    state.hop = shard.hop
    this.store.add(state)
    return state
  }

  /** Rank k: decode into the pool, check the hash, deliver once, IDONTWANT, and keep the shards moving. */
  private complete(state: MessageState, decoder: Decoder, from: PeerKey): void {
    let data: Uint8Array | undefined
    try {
      data = decoder.decodeInto((length) => this.poolFor(length))
    } catch {
      data = undefined
    }
    if (data === undefined || !sameBytes(sha256(data), state.header.hash)) {
      this.counters.decodeFailures++
      this.trace('reject', { messageId: state.id, topic: state.topic, reason: 'hash_mismatch' })
      return this.integrity.failed(state)
    }
    state.delivered = true
    state.decodedAt = this.env.now()
    state.attempt = []
    state.lockedTo = undefined
    this.integrity.verified(state, decoder)
    this.store.decoded(state)
    this.seen.add(state.id, state.header.hash)
    this.counters.decoded++
    this.trace('deliver', { peer: from, messageId: state.id, topic: state.topic })
    try {
      this.outputs.deliver({ id: state.id, topic: state.topic, data, source: state.source, publishedAt: state.header.publishedAt })
    } catch (err) {
      this.trace('reject', { messageId: state.id, reason: `deliver failed: ${(err as Error).message}` })
    }
    const told = new Set(this.mesh.meshPeers(state.topic))
    for (const [peer, view] of state.viewers()) if (!view.dontWant) told.add(peer)
    for (const peer of told) {
      if (!this.connected.has(peer)) continue
      this.outbox.control(peer, 'idontwant', [state.id])
      this.counters.idontwantSent++
    }
    this.forwarding.decoded(state, from, !this.large(state))
  }

  private handleControl(from: PeerKey, control: Control): void {
    if (typeof control !== 'object' || control === null) return this.offence(from, 'invalid', 'control is not an object')
    const max = this.limits.maxControlPerRpc
    const list = <T>(items: T[] | undefined, what: string): T[] => {
      if (items === undefined) return []
      if (!Array.isArray(items)) {
        this.offence(from, 'invalid', `${what} is not a list`)
        return []
      }
      if (items.length > max) this.offence(from, 'flood', `too many ${what} entries in one frame`)
      return items.slice(0, max)
    }
    for (const graft of list(control.graft, 'graft')) {
      const topic = readTopic(graft?.topic)
      if (topic === undefined) return this.offence(from, 'invalid', 'malformed graft')
      this.handleGraft(from, topic)
    }
    for (const prune of list(control.prune, 'prune')) {
      const topic = readTopic(prune?.topic)
      if (topic === undefined) return this.offence(from, 'invalid', 'malformed prune')
      this.handlePrune(from, topic, prune.backoffSeconds, prune.peers)
    }
    const ihave = list(control.ihave, 'ihave').filter((entry) => readTopic(entry?.topic) !== undefined)
    const wants = this.gossip.handleIHave(from, ihave)
    if (wants.length > 0) {
      this.outbox.control(from, 'iwant', wants)
      this.counters.iwantSent += wants.length
    }
    this.gossip.handleIWant(from, list(control.iwant, 'iwant').filter((entry) => typeof entry === 'object' && entry !== null))
    for (const id of list(control.idontwant, 'idontwant')) {
      if (typeof id !== 'string') continue
      const state = this.store.get(id)
      if (state === undefined) continue
      state.view(from).dontWant = true
      this.pullFromDecoded(from, state)
    }
  }

  /**
   * The peer decoded a message we are still short of: ask it for the rest at
   * once instead of waiting for the next IHAVE. One ask is outstanding per
   * message for half a heartbeat; shards that arrive meanwhile can make part
   * of the answer redundant, never more than k − rank shards.
   *
   * Not while shards are still coming in (state.streaming): then one is most
   * likely on its way already, and the answer would mostly land after the
   * decode. The pull waits until they stop (pullDeferred, checked on every
   * call into the core, so without a timer).
   */
  private pullFromDecoded(from: PeerKey, state: MessageState): void {
    if (state.delivered || state.excluded.has(from) || state.lockedTo !== undefined) return
    const now = this.env.now()
    if (now - state.lastIWantAt < this.options.heartbeatMs / 2) return
    if (state.streaming(now, from)) {
      this.deferredPulls.set(state, from)
      return
    }
    this.deferredPulls.delete(state)
    state.lastIWantAt = now
    this.outbox.control(from, 'iwant', [{ messageId: state.id, count: state.k - state.rank }])
    this.counters.iwantSent++
  }

  /** Deferred pulls whose message stopped receiving shards go out; those of messages decoded or gone are dropped. */
  private pullDeferred(): void {
    if (this.deferredPulls.size === 0) return
    const now = this.env.now()
    for (const [state, peer] of this.deferredPulls) {
      if (state.delivered || this.store.get(state.id) !== state || !this.connected.has(peer)) this.deferredPulls.delete(state)
      else if (!state.streaming(now, peer)) this.pullFromDecoded(peer, state)
    }
  }

  /**
   * A peer that had decoded the message sent a shard we could not use (a
   * recoding of the full message misses our span with odds 1/256 per rank
   * short): ask it for one more at once. Waiting for the half-heartbeat retry
   * is what made such a message the slowest of a run. One ask per useless
   * shard, so a peer cannot make us send more than it sends.
   */
  private askAgain(from: PeerKey, state: MessageState): void {
    if (!state.decodedBy(from) || state.excluded.has(from) || state.lockedTo !== undefined) return
    this.outbox.control(from, 'iwant', [{ messageId: state.id, count: 1 }])
    this.counters.iwantSent++
  }

  private handleGraft(from: PeerKey, topic: string): void {
    const verdict = this.mesh.handleGraft(from, topic)
    if (verdict === 'accepted') return this.trace('graft', { peer: from, topic })
    if (verdict === 'backoff') this.offence(from, 'backoff', `graft during backoff on ${topic}`)
    if (this.connected.has(from)) this.sendPrune(from, topic, verdict === 'full')
  }

  private handlePrune(from: PeerKey, topic: string, backoffSeconds: unknown, peers: unknown): void {
    const asked = typeof backoffSeconds === 'number' && Number.isFinite(backoffSeconds) ? backoffSeconds * 1000 : this.limits.pruneBackoffMs
    this.mesh.pruned(from, topic, Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, asked)))
    this.trace('prune', { peer: from, topic })
    if (!Array.isArray(peers)) return
    for (const entry of peers.slice(0, this.limits.maxPeerExchange)) {
      const info = readPeerInfo(entry)
      if (info !== undefined && info.id !== this.env.self && !this.connected.has(info.id)) this.outputs.dial(info)
    }
  }

  private sendPrune(peer: PeerKey, topic: string, exchange = true): void {
    const others = exchange ? this.rng.sample(this.mesh.topicPeers(topic).filter((p) => p !== peer), this.limits.maxPeerExchange) : []
    const peers = others.map((id) => ({ id, addrs: this.env.addressesOf(id) }))
    this.mesh.pruned(peer, topic)
    this.outbox.control(peer, 'prune', [{ topic, peers, backoffSeconds: Math.ceil(this.limits.pruneBackoffMs / 1000) }])
    this.trace('prune', { peer, topic })
  }

  /**
   * An IWANT answer: fresh recodings, the first with the header whatever we
   * sent before (the asker may have lost or refused our first shard, and a
   * shard without a header is useless to a node without the message's state).
   * Owed instead while the asker's backlog is full (Forwarding.answer).
   */
  private serve(peer: PeerKey, state: MessageState, count: number): void {
    const view = state.view(peer)
    view.hasHeader = false
    // An answer does not extend the state's life (lastSentAt): a peer asking again and again would pin it.
    const { lastSentAt } = state
    this.forwarding.answer(peer, state, count)
    state.lastSentAt = lastSentAt
  }

  private sendShards(peer: PeerKey, state: MessageState, shards: ReadonlyArray<{ coefficients: Uint8Array; payload: Uint8Array }>, hop: number): void {
    let header = state.peekView(peer)?.hasHeader ? undefined : state.header
    for (const { coefficients, payload } of shards) {
      this.outbox.shard(peer, { messageId: state.id, header, hop: Math.min(255, Math.max(0, hop)), coefficients, payload })
      header = undefined
    }
    state.noteSent(peer, shards.length)
    state.lastSentAt = this.env.now()
    this.counters.shardsSent += shards.length
  }

  private offence(peer: PeerKey, offence: Offence, reason: string, share = 1): void {
    this.trace('reject', { peer, reason })
    if (!this.scores.penalise(peer, offence, share) || !this.connected.has(peer)) return
    const score = this.scores.score(peer)
    this.removePeer(peer)
    this.outputs.disconnect(peer, `score ${score.toFixed(1)} after ${offence}: ${reason}`)
  }

  /** Retained memory is at its bound and only owed states are left: the peer owed the most goes, unpinning them. */
  private relieve(): boolean {
    const peer = this.forwarding.heaviest()
    if (peer === undefined) return false
    this.cutOff(peer, `retained states reached ${this.limits.maxRetainedBytes} bytes and it is owed the most`)
    return true
  }

  /** A peer that does not drain what it is owed is disconnected rather than silently shorted. */
  private cutOff(peer: PeerKey, reason: string): void {
    this.counters.overduePeers++
    this.trace('reject', { peer, reason: 'overdue' })
    this.removePeer(peer)
    this.outputs.disconnect(peer, reason)
  }

  private freshDecoder(state: MessageState): Decoder {
    return new Decoder(this.env.kernel, state.k, state.shardLength, { random: this.env.random })
  }

  private poolFor(length: number): Uint8Array {
    if (this.pool.length < length) {
      const size = Math.max(length, Math.min(this.options.maxMessageSize + 256, this.pool.length * 2))
      this.pool = new Uint8Array(size)
    }
    return this.pool
  }

  private trace(kind: TraceKind, fields: Omit<TraceEvent, 'kind' | 'at'>): void {
    if (this.outputs.trace === undefined) return
    this.outputs.trace({ kind, at: this.env.now(), ...fields })
  }
}
