import type { SimRandom } from './random.js'
import type { NodeFactory, SimContext } from './node-model.js'
import { SIM_TOPIC } from './node-model.js'
import { gossipFrameBytes, type GossipFrameShape } from './wire-size.js'

/**
 * A store-and-forward model of gossipsub v1.2 (the parts that move bytes):
 *
 * - mesh of D peers per topic kept between Dlo and Dhi on each heartbeat with
 *   GRAFT/PRUNE (and prune backoff);
 * - a node forwards a whole message only after receiving all of it, to every
 *   mesh peer but the sender and those that sent IDONTWANT for it;
 * - on a first receipt it sends IDONTWANT to its mesh peers before forwarding
 *   (messages of at least `idontwantMinBytes`);
 * - publishing goes to every connected peer (floodPublish, the library's
 *   default) or to the mesh;
 * - each heartbeat, IHAVE for the message ids of the last `gossipWindow`
 *   heartbeats goes to `dLazy` random non-mesh peers; IWANT asks for unseen
 *   ids (again after `iwantFollowupMs` if the reply never came), and is
 *   answered from the message cache (`historyLength` heartbeats).
 *
 * Left out: scoring, opportunistic grafting, Dout, fanout (all nodes are
 * subscribed), subscription frames and signature checks.
 */
export interface GossipModelOptions {
  mesh: { min: number; target: number; max: number }
  heartbeatMs: number
  floodPublish: boolean
  dLazy?: number
  gossipWindow?: number
  historyLength?: number
  idontwantMinBytes?: number
  pruneBackoffMs?: number
  iwantFollowupMs?: number
}

interface Frame {
  message?: string
  ihave?: string[]
  iwant?: string[]
  idontwant?: string[]
  graft?: true
  prune?: true
}

export function gossipNodeFactory(options: GossipModelOptions): NodeFactory {
  return (ctx, key, random) => new GossipNode(ctx, key, random, options)
}

class GossipNode {
  private readonly peers = new Set<string>()
  private readonly mesh = new Set<string>()
  private readonly backoff = new Map<string, number>()
  private readonly seen = new Set<string>()
  /** Message id → heartbeat it entered the cache. */
  private readonly cache = new Map<string, number>()
  private readonly dontWant = new Map<string, Set<string>>()
  private readonly asked = new Map<string, number>()
  private beats = 0
  private stopped = false
  private readonly dLazy: number
  private readonly gossipWindow: number
  private readonly historyLength: number
  private readonly idontwantMin: number
  private readonly pruneBackoffMs: number
  private readonly followupMs: number

  constructor(
    private readonly ctx: SimContext,
    private readonly key: string,
    private readonly random: SimRandom,
    private readonly options: GossipModelOptions,
  ) {
    this.dLazy = options.dLazy ?? 6
    this.gossipWindow = options.gossipWindow ?? 3
    this.historyLength = options.historyLength ?? 5
    this.idontwantMin = options.idontwantMinBytes ?? 512
    this.pruneBackoffMs = options.pruneBackoffMs ?? 60_000
    this.followupMs = options.iwantFollowupMs ?? 3000
  }

  linkUp(peer: string): void {
    this.peers.add(peer)
  }

  linkDown(peer: string): void {
    this.peers.delete(peer)
    this.mesh.delete(peer)
    this.dontWant.delete(peer)
  }

  subscribe(): void {}

  uplinkDrained(): void {}

  stop(): void {
    this.stopped = true
  }

  publish(id: string): void {
    this.seen.add(id)
    this.cache.set(id, this.beats)
    const targets = this.options.floodPublish ? this.peers : this.mesh
    for (const peer of targets) this.send(peer, { message: id })
  }

  receive(from: string, raw: unknown): void {
    if (this.stopped) return
    const frame = raw as Frame
    if (frame.graft) this.grafted(from)
    if (frame.prune) {
      this.mesh.delete(from)
      this.backoff.set(from, this.ctx.queue.now + this.pruneBackoffMs)
    }
    if (frame.idontwant !== undefined) {
      let ids = this.dontWant.get(from)
      if (ids === undefined) this.dontWant.set(from, (ids = new Set()))
      for (const id of frame.idontwant) ids.add(id)
    }
    if (frame.ihave !== undefined) {
      const now = this.ctx.queue.now
      const wants = frame.ihave.filter((id) => !this.seen.has(id) && now - (this.asked.get(id) ?? -Infinity) >= this.followupMs)
      for (const id of wants) this.asked.set(id, now)
      if (wants.length > 0) this.send(from, { iwant: wants })
    }
    for (const id of frame.iwant ?? []) if (this.cache.has(id)) this.send(from, { message: id })
    if (frame.message !== undefined) this.message(from, frame.message)
  }

  heartbeat(): void {
    if (this.stopped) return
    this.beats++
    const now = this.ctx.queue.now
    const { min, target, max } = this.options.mesh
    if (this.mesh.size < min) {
      const candidates = [...this.peers].filter((p) => !this.mesh.has(p) && (this.backoff.get(p) ?? 0) <= now)
      for (const peer of this.random.sample(candidates, target - this.mesh.size)) {
        this.mesh.add(peer)
        this.send(peer, { graft: true })
      }
    } else if (this.mesh.size > max) {
      const keep = new Set(this.random.sample([...this.mesh], target))
      for (const peer of [...this.mesh]) {
        if (keep.has(peer)) continue
        this.mesh.delete(peer)
        this.backoff.set(peer, now + this.pruneBackoffMs)
        this.send(peer, { prune: true })
      }
    }
    const recent: string[] = []
    for (const [id, beat] of this.cache) {
      if (this.beats - beat >= this.historyLength) this.cache.delete(id)
      else if (this.beats - beat < this.gossipWindow) recent.push(id)
    }
    if (recent.length === 0) return
    const lazy = [...this.peers].filter((p) => !this.mesh.has(p))
    for (const peer of this.random.sample(lazy, this.dLazy)) this.send(peer, { ihave: recent })
  }

  private grafted(from: string): void {
    if (this.mesh.has(from)) return
    if (this.mesh.size >= this.options.mesh.max || (this.backoff.get(from) ?? 0) > this.ctx.queue.now) {
      this.send(from, { prune: true })
      return
    }
    this.mesh.add(from)
  }

  private message(from: string, id: string): void {
    if (this.seen.has(id)) return
    this.seen.add(id)
    this.asked.delete(id)
    this.cache.set(id, this.beats)
    this.ctx.delivered(this.key, id)
    if (this.ctx.messageBytes >= this.idontwantMin) {
      for (const peer of this.mesh) if (peer !== from) this.send(peer, { idontwant: [id] })
    }
    for (const peer of this.mesh) {
      if (peer === from || this.dontWant.get(peer)?.has(id)) continue
      this.send(peer, { message: id })
    }
  }

  private send(peer: string, frame: Frame): void {
    const shape: GossipFrameShape = {
      messageBytes: frame.message === undefined ? undefined : this.ctx.messageBytes,
      ihave: frame.ihave?.length,
      iwant: frame.iwant?.length,
      idontwant: frame.idontwant?.length,
      graft: frame.graft,
      prune: frame.prune,
    }
    this.ctx.network.send(this.key, peer, gossipFrameBytes(shape, SIM_TOPIC.length, this.ctx.tally), frame)
  }
}
