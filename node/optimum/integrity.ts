import type { Decoder } from '../../common/rlnc/index.js'
import type { Mesh } from './mesh.js'
import type { MessageState } from './message-state.js'
import type { Rng } from './rng.js'
import type { Offence } from './score.js'
import type { PeerKey } from './types.js'

/** Peers whose shards were in a failed decode stay suspicious this long, unless a good decode clears them. */
const SUSPICION_MS = 30_000

export interface IntegrityDeps {
  now(): number
  rng: Rng
  mesh: Mesh
  freshDecoder(state: MessageState): Decoder
  offence(peer: PeerKey, offence: Offence, reason: string): void
  /** Sends the peer an IWANT for `count` shards of the message. */
  ask(peer: PeerKey, state: MessageState, count: number): void
}

/**
 * Pollution defence. A coded shard cannot be checked alone and relays pass
 * shards on before they can check the message, so a forged shard (right
 * lengths, wrong bytes) shows only as a decode whose hash fails. What then:
 *
 * - the attempt's shards become suspects, the message is quarantined
 *   (relayed only once decoded), and its contributors are suspicious for a
 *   while: messages holding their rows are not relayed before they decode,
 *   so a forger's shards stop spreading at the first failure, not the first
 *   proof;
 * - the decode starts over from one peer at a time, peers that decoded it
 *   first (their shards are recodings of a checked message); a failed
 *   attempt fed only by such a peer convicts and excludes it;
 * - once the message decodes, every suspect is checked against it: only the
 *   senders of forged shards are penalised, heavily if they had said they
 *   decoded it, lightly otherwise (an honest relay may have passed it on).
 */
export class Integrity {
  private readonly suspicious = new Map<PeerKey, number>()

  constructor(private readonly deps: IntegrityDeps) {}

  /** Rows from this peer must not be relayed before their message decodes. */
  isSuspicious(peer: PeerKey): boolean {
    return (this.suspicious.get(peer) ?? 0) > this.deps.now()
  }

  /** The decode of `state` failed its hash (or frame) check. */
  failed(state: MessageState): void {
    const contributors = state.contributors()
    for (const peer of contributors.keys()) this.suspicious.set(peer, this.deps.now() + SUSPICION_MS)
    state.replaceDecoder(this.deps.freshDecoder(state))
    const [last] = state.suspects.slice(-1)
    if (contributors.size === 1 && state.suspects.slice(-state.k).every((s) => s.peer === last.peer && s.afterDecode)) {
      state.excluded.add(last.peer)
      this.deps.offence(last.peer, 'pollution', `forged shards of ${state.id}`)
    }
    for (const [, view] of state.viewers()) {
      view.known = 0
      view.told = view.dontWant ? state.k : -1
    }
    const peer = this.nextSource(state, true)
    state.lastIWantAt = this.deps.now()
    if (peer !== undefined) this.deps.ask(peer, state, state.k)
  }

  /**
   * Whom to ask for a stalled or failed message: a topic peer not excluded,
   * one that decoded it if any. With `lock`, the next attempt takes that
   * peer's shards only (starting empty); a locked peer that did not deliver
   * within a heartbeat goes to the back of the line.
   */
  nextSource(state: MessageState, lock: boolean): PeerKey | undefined {
    if (state.lockedTo !== undefined) state.tried.add(state.lockedTo)
    const honest = this.deps.mesh.topicPeers(state.topic).filter((peer) => !state.excluded.has(peer))
    let peers = honest.filter((peer) => !state.tried.has(peer))
    if (peers.length === 0) {
      state.tried.clear()
      peers = honest
    }
    const decoded = peers.filter((peer) => state.decodedBy(peer))
    const [peer] = this.deps.rng.sample(decoded.length > 0 ? decoded : peers, 1)
    state.lockedTo = lock ? peer : undefined
    if (lock && state.attempt.length > 0) state.replaceDecoder(this.deps.freshDecoder(state))
    return peer
  }

  /** A good decode: check the suspects against the message and penalise only the forgers. */
  verified(state: MessageState, decoder: Decoder): void {
    if (state.suspects.length === 0) return
    const forgers = new Map<PeerKey, boolean>()
    for (const { peer, afterDecode, coefficients, payload } of state.suspects) {
      if (forgers.get(peer) !== true && !decoder.matches(coefficients, payload)) forgers.set(peer, afterDecode || (forgers.get(peer) ?? false))
    }
    for (const { peer } of state.suspects) if (!forgers.has(peer)) this.suspicious.delete(peer)
    state.suspects = []
    for (const [peer, proof] of forgers) this.deps.offence(peer, proof ? 'pollution' : 'relayedPollution', `forged shards of ${state.id}`)
  }

  forgetPeer(peer: PeerKey): void {
    this.suspicious.delete(peer)
  }
}
