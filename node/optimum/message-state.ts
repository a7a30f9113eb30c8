import type { CodedShard, Decoder, Encoder } from '../../common/rlnc/index.js'
import type { PeerKey, ShardHeader } from './types.js'

/**
 * What we believe one peer holds of one message, so that we never send it
 * more than it can use. `known` counts the dimensions of our span it surely
 * has: shards we sent it plus innovative shards it sent us (both lie in our
 * span and in its). When it reports its rank (IHAVE, or k − count in an
 * IWANT), `told` bounds it from above and `known` is clipped to it: a shard
 * we sent that turned out useless to it reopens room.
 */
export interface PeerView {
  known: number
  /** Its reported rank, -1 until it reports. */
  told: number
  sentSinceTold: number
  /** It sent IDONTWANT: nothing more for it. */
  dontWant: boolean
  /** It has the header (we sent it, or it sent us a shard, which needed one). */
  hasHeader: boolean
}

export interface ReceivedShard {
  peer: PeerKey
  /** The peer had said it decoded the message when it sent this (so the shard should be clean). */
  afterDecode: boolean
  coefficients: Uint8Array
  payload: Uint8Array
}

/** Failed attempts whose shards are kept for attribution (each at most k shards). */
const MAX_SUSPECTS = 4

/**
 * One message's RLNC state: the header, a decoder (or the publisher's
 * encoder), and per-peer views. The decoder is disposed when the state is
 * dropped (MessageStore).
 */
export class MessageState {
  readonly id: string
  readonly topic: string
  readonly k: number
  readonly shardLength: number
  /** Heap bytes the decoder holds once it took a shard. */
  readonly heapBytes: number
  delivered: boolean
  decodedAt = 0
  /** The shards (as received, not copied) that went into the current decode attempt, with their senders. */
  attempt: ReceivedShard[] = []
  /** Shards of failed attempts, checked against the message once it decodes to find who forged them. */
  suspects: ReceivedShard[] = []
  /** Peers whose shards this message no longer takes: an attempt fed by them alone failed the hash. */
  readonly excluded = new Set<PeerKey>()
  lastIWantAt = Number.NEGATIVE_INFINITY
  /** After a failed decode, the one peer whose shards the next attempt takes (single-source retry). */
  lockedTo: PeerKey | undefined
  /** Peers a retry was locked to that sent nothing useful in time; tried again once everyone was. */
  readonly tried = new Set<PeerKey>()
  /** It holds rows from a peer in bad standing: relayed only once decoded and its hash checked. */
  quarantined = false
  /** When the rank last grew: repair asks only for a message that stopped progressing. */
  lastProgressAt: number
  /** Whose shard that was. */
  lastProgressFrom: PeerKey | undefined
  /** Peers owed shards of it (Forwarding): while any is, a decoded state does not expire. */
  owed = 0
  /** When we last sent shards of it: a decoded state is kept retainMs past that, for the receivers' repair. */
  lastSentAt = Number.NEGATIVE_INFINITY
  /** Fewest hops any shard of it took to reach us (-1 at the publisher); our shards carry hop + 1. */
  hop: number
  private readonly views = new Map<PeerKey, PeerView>()

  constructor(
    readonly header: ShardHeader,
    /** Publisher's peer key (checked signature). */
    readonly source: PeerKey,
    readonly createdAt: number,
    /** The peer charged for this undecoded state (its shard came first); undefined for our own. */
    readonly opener: PeerKey | undefined,
    private coder: Decoder | Encoder,
    shardLength: number,
  ) {
    this.id = header.messageId
    this.topic = header.topic
    this.k = header.k
    this.shardLength = shardLength
    this.heapBytes = header.k * shardLength
    this.delivered = opener === undefined
    this.decodedAt = this.delivered ? createdAt : 0
    this.hop = -1
    this.lastProgressAt = createdAt
  }

  /** Whether its shards may go out: not while quarantined and undecoded (our rows may be forged). */
  get relayable(): boolean {
    return this.delivered || !this.quarantined
  }

  get rank(): number {
    return 'rank' in this.coder ? this.coder.rank : this.k
  }

  get decoder(): Decoder | undefined {
    return 'rank' in this.coder ? this.coder : undefined
  }

  /**
   * Whether shards from peers other than `peer` are still arriving: the rank
   * grew, by another peer's shard, less than the mean gap between its rises
   * so far ago. Scale-free, so it means the same on loopback (gaps of
   * milliseconds) and on slow links (hundreds). Needs two rises to know a gap.
   */
  streaming(now: number, peer: PeerKey): boolean {
    const rank = this.rank
    if (this.delivered || rank < 2 || this.lastProgressFrom === peer) return false
    return now - this.lastProgressAt < (this.lastProgressAt - this.createdAt) / (rank - 1)
  }

  /** A fresh decoder after a failed decode (the old one's rows are poisoned). */
  replaceDecoder(decoder: Decoder): void {
    this.coder.dispose()
    this.coder = decoder
    this.suspects = [...this.suspects, ...this.attempt].slice(-MAX_SUSPECTS * this.k)
    this.attempt = []
    // A message that failed once is relayed only after it decodes: its other peers may be polluted too.
    this.quarantined = true
  }

  /** Peers of the current attempt, with their share of its shards. */
  contributors(): Map<PeerKey, number> {
    const shares = new Map<PeerKey, number>()
    for (const { peer } of this.attempt) shares.set(peer, (shares.get(peer) ?? 0) + 1 / this.attempt.length)
    return shares
  }

  /** `count` fresh shards: recoded from what is held, or encoded at the publisher. */
  recode(count: number): CodedShard[] {
    return 'rank' in this.coder ? this.coder.recode(count) : this.coder.encode(count)
  }

  dispose(): void {
    this.coder.dispose()
  }

  view(peer: PeerKey): PeerView {
    let view = this.views.get(peer)
    if (view === undefined) {
      view = { known: 0, told: -1, sentSinceTold: 0, dontWant: false, hasHeader: false }
      this.views.set(peer, view)
    }
    return view
  }

  peekView(peer: PeerKey): PeerView | undefined {
    return this.views.get(peer)
  }

  viewers(): IterableIterator<[PeerKey, PeerView]> {
    return this.views.entries()
  }

  forgetPeer(peer: PeerKey): void {
    this.views.delete(peer)
    if (this.lockedTo === peer) this.lockedTo = undefined
  }

  /** Peers that decoded it (IDONTWANT, or reported rank k): their shards are recoded from a checked message. */
  decodedBy(peer: PeerKey): boolean {
    const view = this.views.get(peer)
    return view !== undefined && (view.dontWant || view.told >= this.k)
  }

  /** How many more shards from us the peer could still use, as far as we know. */
  sendable(peer: PeerKey): number {
    const view = this.views.get(peer)
    if (view === undefined) return this.rank
    if (view.dontWant) return 0
    let room = this.rank - view.known
    if (view.told >= 0) room = Math.min(room, this.k - view.told - view.sentSinceTold)
    return Math.max(0, room)
  }

  noteSent(peer: PeerKey, count: number): void {
    const view = this.view(peer)
    view.known = Math.min(this.rank, view.known + count)
    view.sentSinceTold += count
    view.hasHeader = true
  }

  /** A shard from the peer: it has the header; if it raised our rank, it is one more dimension we share. */
  noteReceived(peer: PeerKey, innovative: boolean): void {
    const view = this.view(peer)
    view.hasHeader = true
    if (innovative) view.known = Math.min(this.rank, view.known + 1)
  }

  noteRank(peer: PeerKey, rank: number): void {
    const view = this.view(peer)
    view.told = Math.min(this.k, rank)
    view.sentSinceTold = 0
    view.known = Math.min(view.known, view.told)
    if (view.told >= this.k) view.dontWant = true
  }
}
