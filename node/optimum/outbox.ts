import type { Control, PeerKey, Rpc, Shard, ShardHeader, SubOpt } from './types.js'

/** Roughly what a frame takes on the wire (protobuf tags and lengths included), for backlog and byte counts. */
export function estimateRpcBytes(rpc: Rpc): number {
  let bytes = 4
  for (const sub of rpc.subscriptions ?? []) bytes += sub.topic.length + 6
  for (const shard of rpc.shards ?? []) bytes += estimateShardBytes(shard)
  const control = rpc.control
  if (control !== undefined) {
    for (const graft of control.graft ?? []) bytes += graft.topic.length + 4
    for (const prune of control.prune ?? []) {
      bytes += prune.topic.length + 8
      for (const peer of prune.peers) bytes += peer.id.length + 4 + peer.addrs.reduce((n, a) => n + a.length + 2, 0)
    }
    for (const ihave of control.ihave ?? []) {
      bytes += ihave.topic.length + 4
      for (const m of ihave.messages) bytes += m.messageId.length + 6
    }
    for (const iwant of control.iwant ?? []) bytes += iwant.messageId.length + 6
    for (const id of control.idontwant ?? []) bytes += id.length + 2
  }
  return bytes
}

function estimateShardBytes(shard: Shard): number {
  return shard.messageId.length + shard.coefficients.length + shard.payload.length + 12 + (shard.header ? estimateHeaderBytes(shard.header) : 0)
}

function estimateHeaderBytes(header: ShardHeader): number {
  return header.messageId.length + header.topic.length + header.hash.length + header.publisher.length + header.signature.length + 30
}

/**
 * Frames being built for each peer during one call into the core, sent as one
 * frame per peer when the call returns (flush). Counts the bytes queued so the
 * backlog check sees them before the carrier does.
 */
export class Outbox {
  private readonly frames = new Map<PeerKey, { rpc: Rpc; bytes: number }>()

  constructor(private readonly send: (peer: PeerKey, rpc: Rpc) => void) {}

  bytes(peer: PeerKey): number {
    return this.frames.get(peer)?.bytes ?? 0
  }

  shard(peer: PeerKey, shard: Shard): void {
    const frame = this.frame(peer)
    ;(frame.rpc.shards ??= []).push(shard)
    frame.bytes += estimateShardBytes(shard)
  }

  subscriptions(peer: PeerKey, subs: SubOpt[]): void {
    const frame = this.frame(peer)
    ;(frame.rpc.subscriptions ??= []).push(...subs)
    frame.bytes += estimateRpcBytes({ subscriptions: subs })
  }

  control<K extends keyof Control>(peer: PeerKey, kind: K, items: NonNullable<Control[K]>): void {
    if (items.length === 0) return
    const frame = this.frame(peer)
    const control = (frame.rpc.control ??= {})
    ;(control[kind] as unknown[] | undefined) = [...((control[kind] as unknown[] | undefined) ?? []), ...items]
    frame.bytes += estimateRpcBytes({ control: { [kind]: items } })
  }

  /** Sends every frame built so far and starts over; a frame may reach `send` re-entrantly, so take them first. */
  flush(): void {
    if (this.frames.size === 0) return
    const frames = [...this.frames]
    this.frames.clear()
    for (const [peer, { rpc }] of frames) this.send(peer, rpc)
  }

  drop(peer: PeerKey): void {
    this.frames.delete(peer)
  }

  private frame(peer: PeerKey): { rpc: Rpc; bytes: number } {
    let frame = this.frames.get(peer)
    if (frame === undefined) this.frames.set(peer, (frame = { rpc: {}, bytes: 0 }))
    return frame
  }
}
