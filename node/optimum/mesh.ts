import type { Rng } from './rng.js'
import type { PeerKey } from './types.js'

export interface MeshOptions {
  min: number
  target: number
  max: number
  fanoutTtlMs: number
  pruneBackoffMs: number
  maxTopicsPerPeer: number
}

/** What a heartbeat decided: GRAFT and PRUNE per peer, by topic. */
export interface MeshChanges {
  graft: Map<PeerKey, string[]>
  prune: Map<PeerKey, string[]>
}

export type GraftVerdict = 'accepted' | 'not_subscribed' | 'backoff' | 'full'

/**
 * Per-topic mesh membership, as gossipsub keeps it: the topics each peer
 * announced, our mesh for each topic we subscribe to, fanout peers for topics
 * we publish to without subscribing, and the backoff after a PRUNE in either
 * direction. Pure bookkeeping: the protocol sends the frames it returns.
 */
export class Mesh {
  private readonly peerTopics = new Map<PeerKey, Set<string>>()
  private readonly meshes = new Map<string, Set<PeerKey>>()
  private readonly fanout = new Map<string, { peers: Set<PeerKey>; lastUsed: number }>()
  /** topic → peer → time the backoff ends. */
  private readonly backoff = new Map<string, Map<PeerKey, number>>()

  constructor(
    private readonly options: MeshOptions,
    private readonly rng: Rng,
    private readonly now: () => number,
  ) {}

  addPeer(peer: PeerKey): void {
    if (!this.peerTopics.has(peer)) this.peerTopics.set(peer, new Set())
  }

  removePeer(peer: PeerKey): void {
    this.peerTopics.delete(peer)
    for (const mesh of this.meshes.values()) mesh.delete(peer)
    for (const entry of this.fanout.values()) entry.peers.delete(peer)
  }

  /** Records a peer's SUBSCRIBE/UNSUBSCRIBE; false when it exceeds the per-peer topic cap. */
  peerSubscription(peer: PeerKey, topic: string, subscribe: boolean): boolean {
    const topics = this.peerTopics.get(peer)
    if (topics === undefined) return true
    if (!subscribe) {
      topics.delete(topic)
      this.meshes.get(topic)?.delete(peer)
      this.fanout.get(topic)?.peers.delete(peer)
      return true
    }
    if (!topics.has(topic) && topics.size >= this.options.maxTopicsPerPeer) return false
    topics.add(topic)
    return true
  }

  subscribed(topic: string): boolean {
    return this.meshes.has(topic)
  }

  topics(): string[] {
    return [...this.meshes.keys()]
  }

  meshPeers(topic: string): PeerKey[] {
    return [...(this.meshes.get(topic) ?? [])]
  }

  inMesh(topic: string, peer: PeerKey): boolean {
    return this.meshes.get(topic)?.has(peer) ?? false
  }

  /** Connected peers that announced the topic. */
  topicPeers(topic: string): PeerKey[] {
    const peers: PeerKey[] = []
    for (const [peer, topics] of this.peerTopics) if (topics.has(topic)) peers.push(peer)
    return peers
  }

  /** Subscribes: the mesh starts from the fanout peers, topped up to target. Returns peers to GRAFT. */
  join(topic: string): PeerKey[] {
    if (this.meshes.has(topic)) return []
    const mesh = new Set<PeerKey>()
    for (const peer of this.fanout.get(topic)?.peers ?? []) if (mesh.size < this.options.target) mesh.add(peer)
    this.fanout.delete(topic)
    this.meshes.set(topic, mesh)
    for (const peer of this.candidates(topic, mesh, this.options.target - mesh.size)) mesh.add(peer)
    return [...mesh]
  }

  /** Unsubscribes: returns the mesh peers to PRUNE (they get a backoff). */
  leave(topic: string): PeerKey[] {
    const mesh = this.meshes.get(topic)
    if (mesh === undefined) return []
    this.meshes.delete(topic)
    for (const peer of mesh) this.setBackoff(topic, peer, this.options.pruneBackoffMs)
    return [...mesh]
  }

  handleGraft(peer: PeerKey, topic: string): GraftVerdict {
    const mesh = this.meshes.get(topic)
    if (mesh === undefined) return 'not_subscribed'
    if (mesh.has(peer)) return 'accepted'
    if (this.inBackoff(topic, peer)) return 'backoff'
    if (mesh.size >= this.options.max) {
      this.setBackoff(topic, peer, this.options.pruneBackoffMs)
      return 'full'
    }
    this.peerTopics.get(peer)?.add(topic)
    mesh.add(peer)
    return 'accepted'
  }

  /** A PRUNE from the peer, or one we sent it: out of the mesh, no GRAFT either way until the backoff ends. */
  pruned(peer: PeerKey, topic: string, backoffMs = this.options.pruneBackoffMs): void {
    this.meshes.get(topic)?.delete(peer)
    this.setBackoff(topic, peer, backoffMs)
  }

  /**
   * Peers to send a message of `topic` to: the mesh when subscribed, else the
   * fanout set (created, or topped up to target, on use; it expires unused).
   */
  publishPeers(topic: string): PeerKey[] {
    const mesh = this.meshes.get(topic)
    if (mesh !== undefined) return [...mesh]
    let entry = this.fanout.get(topic)
    if (entry === undefined) {
      entry = { peers: new Set(), lastUsed: 0 }
      this.fanout.set(topic, entry)
    }
    entry.lastUsed = this.now()
    if (entry.peers.size < this.options.target) {
      for (const peer of this.candidates(topic, entry.peers, this.options.target - entry.peers.size, false)) entry.peers.add(peer)
    }
    return [...entry.peers]
  }

  /**
   * Keeps min ≤ |mesh| ≤ max for every subscribed topic: drops peers that
   * left the topic, grafts up to target when below min, prunes down to target
   * (at random) when above max; expires unused fanout and ended backoffs.
   */
  heartbeat(): MeshChanges {
    const changes: MeshChanges = { graft: new Map(), prune: new Map() }
    const add = (map: Map<PeerKey, string[]>, peer: PeerKey, topic: string): void => {
      const topics = map.get(peer)
      if (topics === undefined) map.set(peer, [topic])
      else topics.push(topic)
    }
    const { min, target, max, fanoutTtlMs } = this.options
    for (const [topic, mesh] of this.meshes) {
      for (const peer of mesh) if (!this.peerTopics.get(peer)?.has(topic)) mesh.delete(peer)
      if (mesh.size < min) {
        for (const peer of this.candidates(topic, mesh, target - mesh.size)) {
          mesh.add(peer)
          add(changes.graft, peer, topic)
        }
      } else if (mesh.size > max) {
        for (const peer of this.rng.sample(mesh, mesh.size - target)) {
          this.pruned(peer, topic)
          add(changes.prune, peer, topic)
        }
      }
    }
    const now = this.now()
    for (const [topic, entry] of this.fanout) {
      if (now - entry.lastUsed > fanoutTtlMs) this.fanout.delete(topic)
      else for (const peer of entry.peers) if (!this.peerTopics.get(peer)?.has(topic)) entry.peers.delete(peer)
    }
    for (const [topic, peers] of this.backoff) {
      for (const [peer, until] of peers) if (until <= now) peers.delete(peer)
      if (peers.size === 0) this.backoff.delete(topic)
    }
    return changes
  }

  /** Up to n topic peers not in `exclude`, at random; skipping those in backoff unless told not to. */
  private candidates(topic: string, exclude: Set<PeerKey>, n: number, respectBackoff = true): PeerKey[] {
    if (n <= 0) return []
    const pool = this.topicPeers(topic).filter((p) => !exclude.has(p) && !(respectBackoff && this.inBackoff(topic, p)))
    return this.rng.sample(pool, n)
  }

  private inBackoff(topic: string, peer: PeerKey): boolean {
    const until = this.backoff.get(topic)?.get(peer)
    return until !== undefined && until > this.now()
  }

  private setBackoff(topic: string, peer: PeerKey, ms: number): void {
    let peers = this.backoff.get(topic)
    if (peers === undefined) this.backoff.set(topic, (peers = new Map()))
    peers.set(peer, Math.max(peers.get(peer) ?? 0, this.now() + ms))
  }
}
