/** One traced message as the cluster recorded it (one Redis hash; see ./README.md). */
export interface TracedMessage {
  id: string
  /** When the cluster first traced it, ms. */
  firstSeen: number
  topic: string
  algorithm: string
  /** When it was published (the publishing node's PUBLISH event), ms; undefined when no node traced it. */
  published?: number
  publisher?: string
  /** Body size in bytes, from a receipt; undefined until a node delivered it to a proxy. */
  size?: number
  /** Fragments it was cut into (optimum mode). */
  k?: number
  /** Per node peer id: when it delivered (decoded) the message, ms. */
  delivered: Map<string, number>
  /** Per node: shards received (all kinds). */
  shards: Map<string, number>
  /** Per node: shards received that did not help (duplicate, unhelpful, unnecessary). */
  redundant: Map<string, number>
}

export interface MessageFigures {
  topic: string
  published: string
  delivered: string
  delay_sec: number
  peers_seen: Record<string, Record<string, never>>
  duplicates: number
  bytes_moved: number
}

/** `GET /api/v1/tracer/stream`: the fields and types mump2p-cli's dashboard reads. */
export interface TracerSnapshot {
  algorithm: string
  active_nodes: number
  unhealthy_nodes: number
  published_messages: number
  delivered_messages: number
  duplicate_messages: number
  average_delay_seconds: number
  p75: number
  p95: number
  total_bytes_moved: number
  bloat_factor: number
  ideal_byte_complexity: number
  last_updated: string
  messages: Record<string, MessageFigures>
  window_seconds: number
}

export interface SnapshotContext {
  windowSeconds: number
  nodeCount: number
  activeNodes: number
  /** NODE_MODE the nodes report, when no message says it. */
  algorithm: string
}

/** Bytes a node received for a message: its shards times the shard size, or the whole message per delivery (gossipsub). */
function bytesMoved(message: TracedMessage): number {
  const size = message.size ?? 0
  let total = 0
  if (message.k !== undefined && message.k > 0) {
    const shardBytes = Math.ceil(size / message.k)
    for (const count of message.shards.values()) total += count * shardBytes
    return total
  }
  for (const node of message.delivered.keys()) if (node !== message.publisher) total += size
  return total
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

const iso = (ms: number): string => new Date(ms).toISOString()

/**
 * The dashboard's figures for the messages of one window. Delays are per
 * delivery (a message reaching one node other than its publisher: its DELIVER
 * time minus the PUBLISH time); a message's own delay is the time it took to
 * reach the last node that got it. The ideal byte complexity is the message
 * size once per receiving node; the bloat factor is what moved over that.
 */
export function computeSnapshot(messages: readonly TracedMessage[], context: SnapshotContext): TracerSnapshot {
  const delays: number[] = []
  let published = 0
  let delivered = 0
  let duplicates = 0
  let totalBytes = 0
  let ideal = 0
  let lastUpdated = 0
  let algorithm = context.algorithm
  const figures: Record<string, MessageFigures> = {}
  for (const message of messages) {
    if (message.algorithm !== '') algorithm = message.algorithm
    if (message.published !== undefined) published++
    let last = message.firstSeen
    let receivers = 0
    const peers: Record<string, Record<string, never>> = {}
    for (const [node, at] of message.delivered) {
      peers[node] = {}
      last = Math.max(last, at)
      if (node === message.publisher) continue
      receivers++
      if (message.published !== undefined) delays.push(Math.max(0, at - message.published) / 1000)
    }
    let redundant = 0
    for (const count of message.redundant.values()) redundant += count
    const bytes = bytesMoved(message)
    delivered += receivers
    duplicates += redundant
    totalBytes += bytes
    ideal += (message.size ?? 0) * receivers
    lastUpdated = Math.max(lastUpdated, last)
    const start = message.published ?? message.firstSeen
    figures[message.id] = {
      topic: message.topic,
      published: iso(start),
      delivered: iso(last),
      delay_sec: receivers > 0 && message.published !== undefined ? (last - message.published) / 1000 : 0,
      peers_seen: peers,
      duplicates: redundant,
      bytes_moved: bytes,
    }
  }
  delays.sort((a, b) => a - b)
  return {
    algorithm,
    active_nodes: context.activeNodes,
    unhealthy_nodes: Math.max(0, context.nodeCount - context.activeNodes),
    published_messages: published,
    delivered_messages: delivered,
    duplicate_messages: duplicates,
    average_delay_seconds: delays.length === 0 ? 0 : delays.reduce((sum, d) => sum + d, 0) / delays.length,
    p75: quantile(delays, 0.75),
    p95: quantile(delays, 0.95),
    total_bytes_moved: totalBytes,
    bloat_factor: ideal === 0 ? 0 : totalBytes / ideal,
    ideal_byte_complexity: ideal,
    last_updated: iso(lastUpdated === 0 ? Date.now() : lastUpdated),
    messages: figures,
    window_seconds: context.windowSeconds,
  }
}
