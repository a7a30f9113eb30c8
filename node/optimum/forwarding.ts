import type { CodedShard } from '../../common/rlnc/index.js'
import type { MessageState } from './message-state.js'
import type { MessageStore } from './message-store.js'
import type { PeerKey } from './types.js'

/** What the policy needs from the protocol. */
export interface ForwardingDeps {
  store: MessageStore
  /** Peers a message's shards go to (the topic's mesh). */
  targets(state: MessageState): PeerKey[]
  /** Bytes queued towards the peer, ours not yet flushed included, reached the backlog bound. */
  backlogged(peer: PeerKey): boolean
  /** Queues shards of the message for the peer (the header goes with the first) and records them as sent. */
  send(peer: PeerKey, state: MessageState, shards: CodedShard[], hop: number): void
  /** ceil(k × threshold): from this rank on, relays send fresh recodings instead of what they received. */
  recodeFrom(k: number): number
  maxDeferredPerPeer: number
  /** Peers each innovative shard (or decode) of this message is passed on to. */
  fanout(state: MessageState): number
  /** Random order among equally needy peers. */
  shuffle<T>(items: T[]): T[]
  /** Counts recodings made. */
  recoded(count: number): void
}

/**
 * The forwarding policy. Every innovative shard keeps moving:
 *
 * - below `ceil(k × threshold)` a relay forwards the shard as received (no
 *   coding work) to each mesh peer that may still use one;
 * - from the threshold on (and after decoding) it sends each such peer a
 *   fresh recoding of everything it holds instead;
 * - a peer gets at most what it can still use (MessageState.sendable), and
 *   nothing after its IDONTWANT;
 * - when a peer's outbound backlog is at the bound, the shard is owed
 *   instead of queued; when the peer drains, owed shards go out oldest
 *   message first, each a fresh recoding made at send time (so it reflects
 *   everything learnt meanwhile, and is skipped if the peer no longer needs it).
 */
export class Forwarding {
  /** peer → message id → shards owed (insertion order is the order they go out). */
  private readonly owed = new Map<PeerKey, Map<string, number>>()

  constructor(private readonly deps: ForwardingDeps) {}

  get deferred(): number {
    let n = 0
    for (const messages of this.owed.values()) n += messages.size
    return n
  }

  /** The publisher's first shards: `shards` spread round-robin over the peers, so each carries different ones. */
  spread(state: MessageState, shards: CodedShard[], peers: PeerKey[]): void {
    const per = new Map<PeerKey, CodedShard[]>()
    shards.forEach((shard, i) => {
      const peer = peers[i % peers.length]
      per.set(peer, [...(per.get(peer) ?? []), shard])
    })
    for (const [peer, mine] of per) {
      if (this.deps.backlogged(peer)) this.owe(peer, state.id, mine.length)
      else this.deps.send(peer, state, mine, 0)
    }
  }

  /** Our rank just grew with `shard` (hop as it arrived), from `from`. */
  innovative(state: MessageState, shard: CodedShard, hop: number, from: PeerKey): void {
    const asReceived = state.rank < this.deps.recodeFrom(state.k)
    for (const peer of this.neediest(state, from)) {
      if (this.deps.backlogged(peer)) this.owe(peer, state.id, 1)
      else if (asReceived) this.deps.send(peer, state, [shard], hop + 1)
      else this.sendRecoded(peer, state, 1)
    }
  }

  /**
   * The message decoded with `shard`. For small messages (`fanout` unbounded)
   * every peer with room gets a fresh recoding. For large ones only peers we
   * know nothing of (room k: no shard either way, no rank report) do, up to
   * the fanout: a peer that is part-way gets our IDONTWANT and pulls the rest,
   * which costs a round trip but sends nothing to a peer that finished.
   */
  decoded(state: MessageState, from: PeerKey, small: boolean): void {
    for (const peer of this.neediest(state, from, small ? 1 : state.k)) {
      if (this.deps.backlogged(peer)) this.owe(peer, state.id, 1)
      else this.sendRecoded(peer, state, 1)
    }
  }

  /** The peer's backlog fell: pay what is owed to it while it stays below the bound. */
  drained(peer: PeerKey): void {
    const messages = this.owed.get(peer)
    if (messages === undefined) return
    for (const [id, count] of messages) {
      if (this.deps.backlogged(peer)) return
      const state = this.deps.store.get(id)
      const n = state === undefined || !state.relayable ? 0 : Math.min(count, state.sendable(peer))
      let sent = 0
      while (sent < n && !this.deps.backlogged(peer)) {
        this.sendRecoded(peer, state!, 1)
        sent++
      }
      if (sent < n) {
        messages.set(id, count - sent)
        return
      }
      messages.delete(id)
    }
    if (messages.size === 0) this.owed.delete(peer)
  }

  forgetPeer(peer: PeerKey): void {
    this.owed.delete(peer)
  }

  clear(): void {
    this.owed.clear()
  }

  sendRecoded(peer: PeerKey, state: MessageState, count: number): void {
    if (count <= 0 || state.rank === 0) return
    this.deps.send(peer, state, state.recode(count), state.hop + 1)
    this.deps.recoded(count)
  }

  /** Up to `fanout` mesh peers other than `from` with room for at least `minRoom` shards, those with the most room first. */
  private neediest(state: MessageState, from: PeerKey, minRoom = 1): PeerKey[] {
    const room = new Map<PeerKey, number>()
    for (const peer of this.deps.targets(state)) {
      const n = peer === from ? 0 : state.sendable(peer)
      if (n >= minRoom) room.set(peer, n)
    }
    const peers = this.deps.shuffle([...room.keys()])
    const fanout = this.deps.fanout(state)
    if (peers.length <= fanout) return peers
    return peers.sort((a, b) => room.get(b)! - room.get(a)!).slice(0, fanout)
  }

  private owe(peer: PeerKey, id: string, count: number): void {
    let messages = this.owed.get(peer)
    if (messages === undefined) this.owed.set(peer, (messages = new Map()))
    if (!messages.has(id) && messages.size >= this.deps.maxDeferredPerPeer) {
      // The oldest owed message is the likeliest to have been completed by others meanwhile; repair covers it if not.
      messages.delete(messages.keys().next().value as string)
    }
    messages.set(id, (messages.get(id) ?? 0) + count)
  }
}
