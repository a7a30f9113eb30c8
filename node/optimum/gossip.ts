import type { Mesh } from './mesh.js'
import type { MessageState } from './message-state.js'
import type { MessageStore } from './message-store.js'
import type { Rng } from './rng.js'
import type { CoreLimits, IHave, IWant, PeerKey } from './types.js'

export interface GossipDeps {
  store: MessageStore
  mesh: Mesh
  rng: Rng
  limits: CoreLimits
  now(): number
  heartbeatMs: number
  /** Delivered or published here (state possibly gone). */
  seen(id: string): boolean
  /** Sends `count` fresh shards of the message to the peer (ignoring backlog: it asked). */
  serve(peer: PeerKey, state: MessageState, count: number): void
}

/**
 * Repair. Each heartbeat a node advertises (IHAVE) the messages of the last
 * `gossipHeartbeats` heartbeats it holds shards of, with its rank, to its
 * mesh peers and `gossipLazy` other topic peers; not to a peer that said
 * IDONTWANT or reported rank k. A node short of shards that hears of a
 * higher rank than its own, and whose own rank has not grown for half a
 * heartbeat, asks that peer (IWANT) for k − rank shards, at most once per
 * half heartbeat; the holder answers with fresh recodings, within a per-peer
 * budget per heartbeat. An undecoded message that made no progress for a
 * whole heartbeat asks a peer outright (stalled).
 */
export class Gossip {
  /** Per peer, this heartbeat: shards served, IWANTs for unknown messages sent. */
  private readonly served = new Map<PeerKey, number>()
  private readonly unknownAsked = new Map<PeerKey, number>()
  /** Unknown ids asked for recently: one ask per heartbeat, whoever advertises them. */
  private readonly askedUnknown = new Map<string, number>()

  constructor(private readonly deps: GossipDeps) {}

  /** The IHAVEs to send this heartbeat, per peer. */
  advertise(): Map<PeerKey, IHave[]> {
    const { store, mesh, rng, limits, now, heartbeatMs } = this.deps
    const since = now() - limits.gossipHeartbeats * heartbeatMs
    const byTopic = new Map<string, MessageState[]>()
    for (const state of store.values()) {
      if (state.createdAt < since || state.rank === 0 || !state.relayable) continue
      const list = byTopic.get(state.topic)
      if (list === undefined) byTopic.set(state.topic, [state])
      else list.push(state)
    }
    const out = new Map<PeerKey, IHave[]>()
    for (const [topic, states] of byTopic) {
      const meshPeers = mesh.meshPeers(topic)
      const others = mesh.topicPeers(topic).filter((p) => !meshPeers.includes(p))
      for (const peer of [...meshPeers, ...rng.sample(others, limits.gossipLazy)]) {
        const messages: IHave['messages'] = []
        for (const state of states) {
          const view = state.peekView(peer)
          if (view !== undefined && (view.dontWant || view.told >= state.k)) continue
          messages.push({ messageId: state.id, rank: state.rank })
          if (messages.length >= limits.maxIHaveMessages) break
        }
        if (messages.length > 0) out.set(peer, [...(out.get(peer) ?? []), { topic, messages }])
      }
    }
    return out
  }

  /**
   * Undecoded messages that made no progress for a heartbeat (their shards
   * were lost, forged, or their IHAVE window passed): ask one peer each for
   * the rest (retry.ts picks it).
   */
  stalled(pick: (state: MessageState) => PeerKey | undefined): Map<PeerKey, IWant[]> {
    const { store, limits, now, heartbeatMs } = this.deps
    const asks = new Map<PeerKey, IWant[]>()
    let budget = limits.maxUnknownIWantsPerHeartbeat
    for (const state of store.values()) {
      if (budget === 0) break
      if (state.delivered || now() - Math.max(state.lastProgressAt, state.lastIWantAt) < heartbeatMs) continue
      const peer = pick(state)
      if (peer === undefined) continue
      state.lastIWantAt = now()
      asks.set(peer, [...(asks.get(peer) ?? []), { messageId: state.id, count: state.k - state.rank }])
      budget--
    }
    return asks
  }

  /** A peer's IHAVEs: learn its ranks; return what to ask it for. */
  handleIHave(from: PeerKey, ihaves: IHave[]): IWant[] {
    const { store, mesh, limits, now, heartbeatMs } = this.deps
    const wants: IWant[] = []
    let entries = 0
    for (const ihave of ihaves) {
      if (!mesh.subscribed(ihave.topic) || !Array.isArray(ihave.messages)) continue
      for (const { messageId, rank } of ihave.messages) {
        if (++entries > limits.maxControlPerRpc) return wants
        if (typeof messageId !== 'string' || !Number.isInteger(rank) || rank < 1) continue
        const state = store.get(messageId)
        if (state !== undefined) {
          if (state.topic !== ihave.topic) continue
          state.noteRank(from, rank)
          if (state.delivered || state.excluded.has(from) || rank <= state.rank && rank < state.k) continue
          if (now() - Math.max(state.lastIWantAt, state.lastProgressAt) < heartbeatMs / 2) continue
          state.lastIWantAt = now()
          wants.push({ messageId, count: state.k - state.rank })
        } else if (!this.deps.seen(messageId) && this.askUnknown(from, messageId)) {
          wants.push({ messageId, count: Math.min(rank, 255) })
        }
      }
    }
    return wants
  }

  /** A peer's IWANTs: serve fresh shards of what we hold, within its budget. */
  handleIWant(from: PeerKey, iwants: IWant[]): void {
    const { store, limits } = this.deps
    let entries = 0
    for (const { messageId, count } of iwants) {
      if (++entries > limits.maxControlPerRpc) return
      if (typeof messageId !== 'string' || !Number.isInteger(count) || count < 1) continue
      const state = store.get(messageId)
      if (state === undefined || state.rank === 0 || !state.relayable) continue
      const asked = Math.min(count, state.k)
      state.noteRank(from, state.k - asked)
      const budget = limits.maxIWantShardsPerHeartbeat - (this.served.get(from) ?? 0)
      const n = Math.min(asked, state.sendable(from), budget)
      if (n <= 0) continue
      this.served.set(from, limits.maxIWantShardsPerHeartbeat - budget + n)
      this.deps.serve(from, state, n)
    }
  }

  heartbeat(): void {
    this.served.clear()
    this.unknownAsked.clear()
    const stale = this.deps.now() - this.deps.heartbeatMs
    for (const [id, at] of this.askedUnknown) if (at <= stale) this.askedUnknown.delete(id)
  }

  forgetPeer(peer: PeerKey): void {
    this.served.delete(peer)
    this.unknownAsked.delete(peer)
  }

  private askUnknown(from: PeerKey, id: string): boolean {
    const { limits, now } = this.deps
    const asked = this.unknownAsked.get(from) ?? 0
    if (asked >= limits.maxUnknownIWantsPerHeartbeat || this.askedUnknown.has(id)) return false
    if (this.askedUnknown.size >= limits.maxUnknownIWantsPerHeartbeat * 64) return false
    this.unknownAsked.set(from, asked + 1)
    this.askedUnknown.set(id, now())
    return true
  }
}
