import type { PeerKey } from './types.js'

/**
 * What a peer can do wrong, with its weight. A frame that cannot be valid is
 * worse than a useless one; a bad signature proves intent. Pollution is a
 * forged shard from a peer that had said it decoded the message (so its
 * shards were recoded from a checked message): proof. A forged shard from a
 * peer that had not decoded may be an honest relay's, passed on before it
 * could check (relayedPollution): light, decaying, so an honest relay
 * recovers while a peer that keeps forging still sinks.
 */
export const PENALTY = {
  invalid: 10,
  signature: 25,
  pollution: 40,
  relayedPollution: 10,
  flood: 2,
  backoff: 5,
} as const

export type Offence = keyof typeof PENALTY

/** Peer scores: penalties only (no reward), decaying each heartbeat; below the threshold a peer is cut off. */
export class PeerScores {
  private readonly scores = new Map<PeerKey, number>()

  constructor(
    private readonly disconnectScore: number,
    private readonly decay: number,
  ) {}

  score(peer: PeerKey): number {
    return this.scores.get(peer) ?? 0
  }

  /** Lowers the peer's score; returns true when it fell to the disconnect threshold or below. */
  penalise(peer: PeerKey, offence: Offence, share = 1): boolean {
    const score = this.score(peer) - PENALTY[offence] * share
    this.scores.set(peer, score)
    return score <= this.disconnectScore
  }

  heartbeat(): void {
    for (const [peer, score] of this.scores) {
      const next = score * this.decay
      if (next > -0.01) this.scores.delete(peer)
      else this.scores.set(peer, next)
    }
  }

  /** A disconnected peer keeps its score for a while (it decays), so reconnecting does not wipe it. */
  forget(peer: PeerKey): void {
    if (this.score(peer) > this.disconnectScore / 10) this.scores.delete(peer)
  }
}
