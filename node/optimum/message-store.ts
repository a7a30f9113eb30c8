import type { MessageState } from './message-state.js'
import type { CoreLimits, PeerKey } from './types.js'

/** Why a new message state was refused. */
export type AdmitRefusal = 'too_many_undecoded' | 'undecoded_bytes' | 'peer_undecoded' | 'peer_undecoded_bytes' | 'too_many_messages'

/**
 * All message states, with the accounting that bounds them: undecoded states
 * and their heap bytes, in total and per opening peer, and the total count.
 * Expiry drops undecoded states after messageTtlMs and decoded ones retainMs
 * after they decoded or last sent shards (a receiver short of a shard asks
 * within a heartbeat or two of the last one it got), but no later than
 * messageTtlMs after the decode, so memory is flat however many messages
 * pass. A decoded state that shards are still owed from (`owed`, backpressure) stays until they are
 * paid; past maxRetainedBytes or maxMessages the oldest unowed decoded states
 * go first, and when only owed ones are left `relieve` cuts off the peer that
 * owes the most, which unpins them (never a silent drop of what a peer is owed).
 */
export class MessageStore {
  private readonly states = new Map<string, MessageState>()
  private undecodedCount = 0
  private undecodedHeap = 0
  private retainedHeap = 0
  private readonly perPeer = new Map<PeerKey, { count: number; bytes: number }>()

  constructor(
    private readonly limits: CoreLimits,
    /** Disconnects the peer owed the most; false when nothing is owed. */
    private readonly relieve: () => boolean,
  ) {}

  get size(): number {
    return this.states.size
  }

  get undecoded(): number {
    return this.undecodedCount
  }

  get undecodedBytes(): number {
    return this.undecodedHeap
  }

  get retainedBytes(): number {
    return this.retainedHeap
  }

  get(id: string): MessageState | undefined {
    return this.states.get(id)
  }

  values(): IterableIterator<MessageState> {
    return this.states.values()
  }

  /** Whether an undecoded state of `heapBytes` opened by `peer` fits; makes room among decoded states if needed. */
  admit(peer: PeerKey, heapBytes: number): AdmitRefusal | undefined {
    const { limits } = this
    if (this.undecodedCount >= limits.maxUndecoded) return 'too_many_undecoded'
    if (this.undecodedHeap + heapBytes > limits.maxUndecodedBytes) return 'undecoded_bytes'
    const mine = this.perPeer.get(peer)
    if ((mine?.count ?? 0) >= limits.maxUndecodedPerPeer) return 'peer_undecoded'
    if ((mine?.bytes ?? 0) + heapBytes > limits.maxUndecodedBytesPerPeer) return 'peer_undecoded_bytes'
    return this.makeRoom() ? undefined : 'too_many_messages'
  }

  /** Adds a state; an undecoded one is charged to its opener. Call admit() first for a peer's. */
  add(state: MessageState): void {
    if (!state.delivered) this.charge(state, 1)
    else this.makeRoom()
    this.states.set(state.id, state)
    if (state.delivered) this.retain(state)
  }

  /** The state decoded: it stops counting against the undecoded bounds and counts as retained. */
  decoded(state: MessageState): void {
    this.charge(state, -1)
    this.retain(state)
  }

  delete(state: MessageState): void {
    if (this.states.get(state.id) !== state) return
    this.states.delete(state.id)
    if (!state.delivered) this.charge(state, -1)
    else this.retainedHeap -= state.heapBytes
    state.dispose()
  }

  expire(now: number): void {
    for (const state of this.states.values()) {
      if (state.delivered ? this.retained(state, now) : now - state.createdAt < this.limits.messageTtlMs) continue
      this.delete(state)
    }
  }

  private retained(state: MessageState, now: number): boolean {
    if (state.owed > 0) return true
    const { retainMs, messageTtlMs } = this.limits
    return now - Math.max(state.decodedAt, state.lastSentAt) < retainMs && now - state.decodedAt < messageTtlMs
  }

  forgetPeer(peer: PeerKey): void {
    for (const state of this.states.values()) state.forgetPeer(peer)
  }

  clear(): void {
    for (const state of [...this.states.values()]) this.delete(state)
  }

  /** Counts a decoded state's heap; past maxRetainedBytes the oldest unowed decoded states go (never `state` itself). */
  private retain(state: MessageState): void {
    this.retainedHeap += state.heapBytes
    do {
      for (const old of this.states.values()) {
        if (this.retainedHeap <= this.limits.maxRetainedBytes) return
        if (old.delivered && old.owed === 0 && old !== state) this.delete(old)
      }
    } while (this.retainedHeap > this.limits.maxRetainedBytes && this.relieve())
  }

  /** At the count cap, drops the oldest unowed decoded state; false when every state is undecoded. */
  private makeRoom(): boolean {
    if (this.states.size < this.limits.maxMessages) return true
    do {
      for (const state of this.states.values()) {
        if (state.delivered && state.owed === 0) {
          this.delete(state)
          return true
        }
      }
    } while (this.relieve())
    return false
  }

  private charge(state: MessageState, sign: 1 | -1): void {
    this.undecodedCount += sign
    this.undecodedHeap += sign * state.heapBytes
    if (state.opener === undefined) return
    const mine = this.perPeer.get(state.opener) ?? { count: 0, bytes: 0 }
    mine.count += sign
    mine.bytes += sign * state.heapBytes
    if (mine.count === 0) this.perPeer.delete(state.opener)
    else this.perPeer.set(state.opener, mine)
  }
}
