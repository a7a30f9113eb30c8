import type { CodedShard } from '../../common/rlnc/index.js'
import type { MessageState } from './message-state.js'
import type { MessageStore } from './message-store.js'
import type { PeerKey } from './types.js'

/** What the policy needs from the protocol. */
export interface ForwardingDeps {
  store: MessageStore
  /** Peers a message's shards go to (the topic's mesh). */
  targets(state: MessageState): PeerKey[]
  /** Bytes queued towards the peer (ours not yet flushed included) reached the backlog bound, or those towards all peers the uplink's. */
  backlogged(peer: PeerKey): boolean
  /** Queues shards of the message for the peer (the header goes with the first) and records them as sent. */
  send(peer: PeerKey, state: MessageState, shards: CodedShard[], hop: number): void
  /** ceil(k × threshold): from this rank on, relays send fresh recodings instead of what they received. */
  recodeFrom(k: number): number
  /** Heap bytes of the messages owed to one peer (they stay held for it) past which the peer is cut off. */
  maxOwedBytesPerPeer: number
  /** The peer owes more than the bound: it does not drain, disconnect it (its owed entries are forgotten). */
  overdue(peer: PeerKey, bytes: number): void
  /** Peers each innovative shard (or decode) of this message is passed on to; Infinity: every mesh peer with room. */
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
 * - when a peer's outbound backlog (or the uplink's) is at the bound, the shard is owed
 *   instead of queued; when the peer drains, owed shards go out oldest
 *   message first, each a fresh recoding made at send time (so it reflects
 *   everything learnt meanwhile, and is skipped if the peer no longer needs it).
 *   An owed message is pinned (MessageState.owed): its state does not expire
 *   while any peer is owed shards of it. What one peer may pin is bounded by
 *   bytes (maxOwedBytesPerPeer); a peer past it does not drain and is cut
 *   off, so nothing owed is ever silently dropped for a healthy peer.
 */
interface Owed {
  state: MessageState
  count: number
}

interface PeerDebt {
  /** message id → what is owed (insertion order is the order they go out). */
  messages: Map<string, Owed>
  /** Heap bytes of the owed messages' states. */
  bytes: number
}

export class Forwarding {
  private readonly owed = new Map<PeerKey, PeerDebt>()
  /** Owed messages whose state went before they were paid (an undecoded relay's state expired, or stop). */
  private lost = 0

  constructor(private readonly deps: ForwardingDeps) {}

  get deferred(): number {
    let n = 0
    for (const debt of this.owed.values()) n += debt.messages.size
    return n
  }

  get owedLost(): number {
    return this.lost
  }

  /** The peer owing the most bytes, the one to cut off when retained memory is at its bound. */
  heaviest(): PeerKey | undefined {
    let worst: PeerKey | undefined
    let bytes = 0
    for (const [peer, debt] of this.owed) {
      if (debt.bytes > bytes) [worst, bytes] = [peer, debt.bytes]
    }
    return worst
  }

  /** The publisher's first shards: `shards` spread round-robin over the peers, so each carries different ones. */
  spread(state: MessageState, shards: CodedShard[], peers: PeerKey[]): void {
    const per = new Map<PeerKey, CodedShard[]>()
    shards.forEach((shard, i) => {
      const peer = peers[i % peers.length]
      per.set(peer, [...(per.get(peer) ?? []), shard])
    })
    for (const [peer, mine] of per) {
      if (this.deps.backlogged(peer)) this.owe(peer, state, mine.length)
      else this.deps.send(peer, state, mine, 0)
    }
  }

  /** Our rank just grew with `shard` (hop as it arrived), from `from`. */
  innovative(state: MessageState, shard: CodedShard, hop: number, from: PeerKey): void {
    const asReceived = state.rank < this.deps.recodeFrom(state.k)
    for (const peer of this.neediest(state, from)) {
      if (this.deps.backlogged(peer)) this.owe(peer, state, 1)
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
      if (this.deps.backlogged(peer)) this.owe(peer, state, 1)
      else this.sendRecoded(peer, state, 1)
    }
  }

  /** The peer's backlog fell: pay what is owed to it while it stays below the bound. */
  drained(peer: PeerKey): void {
    const debt = this.owed.get(peer)
    if (debt === undefined) return
    for (const [id, owed] of debt.messages) {
      if (this.deps.backlogged(peer)) return
      const { state } = owed
      const held = this.deps.store.get(id) === state
      if (!held) this.lost++
      const n = !held || !state.relayable ? 0 : Math.min(owed.count, state.sendable(peer))
      let sent = 0
      while (sent < n && !this.deps.backlogged(peer)) {
        this.sendRecoded(peer, state, 1)
        sent++
      }
      if (sent < n) {
        owed.count -= sent
        return
      }
      this.settle(debt, id, owed)
    }
    if (debt.messages.size === 0) this.owed.delete(peer)
  }

  forgetPeer(peer: PeerKey): void {
    const debt = this.owed.get(peer)
    if (debt === undefined) return
    this.owed.delete(peer)
    for (const { state } of debt.messages.values()) state.owed--
  }

  clear(): void {
    for (const peer of [...this.owed.keys()]) this.forgetPeer(peer)
  }

  /**
   * An IWANT answer. Behind a full backlog it is owed instead (at most what
   * was asked, however often): an asker that repeats its IWANT each
   * heartbeat while earlier answers still queue on a slow link would
   * otherwise grow that queue without end.
   */
  answer(peer: PeerKey, state: MessageState, count: number): void {
    if (!this.deps.backlogged(peer)) return this.sendRecoded(peer, state, count)
    const owed = this.owed.get(peer)?.messages.get(state.id)
    if (owed === undefined) this.owe(peer, state, count)
    else owed.count = Math.max(owed.count, count)
  }

  sendRecoded(peer: PeerKey, state: MessageState, count: number): void {
    if (count <= 0 || state.rank === 0) return
    this.deps.send(peer, state, state.recode(count), state.hop + 1)
    this.deps.recoded(count)
  }

  /**
   * Mesh peers other than `from` with room for at least `minRoom` shards:
   * all of them for small messages (unbounded fanout); else up to `fanout`,
   * those with the most room first, and past the first only peers with room
   * for two. A peer with room for one is either about to finish (its other
   * neighbours are sending too) or, at our rank 1, would get an exact copy
   * of a shard we already pass on: copies that meet again downstream were
   * the largest share of wasted shards in the simulator.
   */
  private neediest(state: MessageState, from: PeerKey, minRoom = 1): PeerKey[] {
    const room = new Map<PeerKey, number>()
    for (const peer of this.deps.targets(state)) {
      const n = peer === from ? 0 : state.sendable(peer)
      if (n >= minRoom) room.set(peer, n)
    }
    const peers = this.deps.shuffle([...room.keys()])
    const fanout = this.deps.fanout(state)
    if (!Number.isFinite(fanout)) return peers
    return peers
      .sort((a, b) => room.get(b)! - room.get(a)!)
      .slice(0, fanout)
      .filter((peer, i) => i === 0 || room.get(peer)! >= 2)
  }

  private owe(peer: PeerKey, state: MessageState, count: number): void {
    let debt = this.owed.get(peer)
    if (debt === undefined) this.owed.set(peer, (debt = { messages: new Map(), bytes: 0 }))
    const owed = debt.messages.get(state.id)
    if (owed !== undefined) {
      owed.count += count
      return
    }
    debt.messages.set(state.id, { state, count })
    debt.bytes += state.heapBytes
    state.owed++
    if (debt.bytes > this.deps.maxOwedBytesPerPeer) this.deps.overdue(peer, debt.bytes)
  }

  private settle(debt: PeerDebt, id: string, owed: Owed): void {
    debt.messages.delete(id)
    debt.bytes -= owed.state.heapBytes
    owed.state.owed--
  }
}
