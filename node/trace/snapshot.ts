import { BoundedMap } from './bounded-map.js'
import type { NodeTrace } from './types.js'

/** Messages the snapshot remembers (the newest); older ones leave it. */
export const SNAPSHOT_MESSAGES = 1000
/** Peers with shard statistics; a peer's entry goes when it disconnects. */
const SNAPSHOT_PEERS = 4096

interface MessageEntry {
  /** Innovative shards held (optimum mode); 0 for a message that arrived whole. */
  shards: number
  decoded: boolean
}

interface PeerEntry {
  newShards: number
  duplicateShards: number
  unhelpfulShards: number
  unnecessaryShards: number
  /** Messages this peer's shard (or whole message) completed here. */
  completed: number
  lastEventMs: number
}

/** `GET /api/v1/p2p-snapshot`, with the published node's field names. */
export interface P2pSnapshot {
  seen_message_hashes: string[]
  fully_decoded_message_hashes: string[]
  undecoded_shard_buffer_sizes: Record<string, number>
  total_peer_count: number
  full_message_node_count: number
  partial_message_node_count: number
  connected_peers: ConnectedPeer[]
}

export interface ConnectedPeer {
  peer_id: string
  /** Topics whose mesh holds the peer. */
  mesh_topics: string[]
  new_shards: number
  duplicate_shards: number
  unhelpful_shards: number
  unnecessary_shards: number
  completed_messages: number
  /** Unix ms of the last trace event about the peer; 0 when none. */
  last_event_ms: number
}

const SHARD_COUNTERS = {
  new_shard: 'newShards',
  duplicate_shard: 'duplicateShards',
  unhelpful_shard: 'unhelpfulShards',
  unnecessary_shard: 'unnecessaryShards',
} as const

/**
 * What the p2p snapshot reports, kept from the node's trace events: the
 * newest SNAPSHOT_MESSAGES messages this node has seen (a shard or the whole
 * message), which of them it decoded and how many innovative shards the
 * others hold, and per connected peer what it sent. Bounded: messages past
 * the cap and peers that disconnect are forgotten. Message "hashes" are the
 * message ids (the MessageID the sidecar delivers).
 */
export class SnapshotTracker {
  private readonly messages = new BoundedMap<string, MessageEntry>(SNAPSHOT_MESSAGES)
  private readonly peers = new BoundedMap<string, PeerEntry>(SNAPSHOT_PEERS)

  readonly record = (event: NodeTrace): void => {
    if (event.kind === 'remove_peer' && event.peer !== undefined) {
      this.peers.delete(event.peer)
      return
    }
    const id = event.messageId
    if (id === undefined) return
    switch (event.kind) {
      case 'publish':
        this.messageOf(id).decoded = true
        return
      case 'deliver':
        this.messageOf(id).decoded = true
        if (event.peer !== undefined) this.peerOf(event.peer, event.time).completed++
        return
      case 'new_shard':
        this.messageOf(id).shards++
        break
      case 'duplicate_shard':
      case 'unhelpful_shard':
      case 'unnecessary_shard':
        this.messageOf(id)
        break
      default:
        return
    }
    if (event.peer !== undefined) this.peerOf(event.peer, event.time)[SHARD_COUNTERS[event.kind]]++
  }

  /** The snapshot for the peers connected now (`meshTopicsOf` says which meshes hold a peer). */
  snapshot(connected: string[], meshTopicsOf: (peer: string) => string[]): P2pSnapshot {
    const seen: string[] = []
    const decoded: string[] = []
    const buffers: Record<string, number> = {}
    for (const [id, message] of this.messages.entriesInOrder()) {
      seen.push(id)
      if (message.decoded) decoded.push(id)
      else buffers[id] = message.shards
    }
    let full = 0
    let partial = 0
    const peers = connected.map((peer): ConnectedPeer => {
      const entry = this.peers.get(peer)
      if (entry !== undefined && entry.completed > 0) full++
      else if (entry !== undefined && entry.newShards + entry.duplicateShards + entry.unhelpfulShards + entry.unnecessaryShards > 0) partial++
      return {
        peer_id: peer,
        mesh_topics: meshTopicsOf(peer),
        new_shards: entry?.newShards ?? 0,
        duplicate_shards: entry?.duplicateShards ?? 0,
        unhelpful_shards: entry?.unhelpfulShards ?? 0,
        unnecessary_shards: entry?.unnecessaryShards ?? 0,
        completed_messages: entry?.completed ?? 0,
        last_event_ms: entry?.lastEventMs ?? 0,
      }
    })
    return {
      seen_message_hashes: seen,
      fully_decoded_message_hashes: decoded,
      undecoded_shard_buffer_sizes: buffers,
      total_peer_count: connected.length,
      full_message_node_count: full,
      partial_message_node_count: partial,
      connected_peers: peers,
    }
  }

  private messageOf(id: string): MessageEntry {
    let entry = this.messages.get(id)
    if (entry === undefined) {
      entry = { shards: 0, decoded: false }
      this.messages.set(id, entry)
    }
    return entry
  }

  private peerOf(peer: string, time: number): PeerEntry {
    let entry = this.peers.get(peer)
    if (entry === undefined) {
      entry = { newShards: 0, duplicateShards: 0, unhelpfulShards: 0, unnecessaryShards: 0, completed: 0, lastEventMs: 0 }
      this.peers.set(peer, entry)
    }
    entry.lastEventMs = time
    return entry
  }
}
