import type { MessageState } from './message-state.js'
import type { CoreLimits, PeerKey } from './types.js'

/** Why a new message state was refused. */
export type AdmitRefusal = 'too_many_undecoded' | 'undecoded_bytes' | 'peer_undecoded' | 'peer_undecoded_bytes' | 'too_many_messages'

/**
 * All message states, with the accounting that bounds them: undecoded states
 * and their heap bytes, in total and per opening peer, and the total count.
 * Expiry drops undecoded states after messageTtlMs and decoded ones after
 * retainMs, so memory is flat however many messages pass.
 */
export class MessageStore {
  private readonly states = new Map<string, MessageState>()
  private undecodedCount = 0
  private undecodedHeap = 0
  private readonly perPeer = new Map<PeerKey, { count: number; bytes: number }>()

  constructor(private readonly limits: CoreLimits) {}

  get size(): number {
    return this.states.size
  }

  get undecoded(): number {
    return this.undecodedCount
  }

  get undecodedBytes(): number {
    return this.undecodedHeap
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
  }

  /** The state decoded: it stops counting against the undecoded bounds. */
  decoded(state: MessageState): void {
    this.charge(state, -1)
  }

  delete(state: MessageState): void {
    if (this.states.get(state.id) !== state) return
    this.states.delete(state.id)
    if (!state.delivered) this.charge(state, -1)
    state.dispose()
  }

  expire(now: number): void {
    for (const state of this.states.values()) {
      const age = state.delivered ? now - state.decodedAt - this.limits.retainMs : now - state.createdAt - this.limits.messageTtlMs
      if (age >= 0) this.delete(state)
    }
  }

  forgetPeer(peer: PeerKey): void {
    for (const state of this.states.values()) state.forgetPeer(peer)
  }

  clear(): void {
    for (const state of [...this.states.values()]) this.delete(state)
  }

  /** At the count cap, drops the oldest decoded state; false when every state is undecoded. */
  private makeRoom(): boolean {
    if (this.states.size < this.limits.maxMessages) return true
    for (const state of this.states.values()) {
      if (state.delivered) {
        this.delete(state)
        return true
      }
    }
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
