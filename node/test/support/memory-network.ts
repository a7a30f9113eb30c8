import { createHash } from 'node:crypto'
import { EventQueue } from '../../../common/event-queue.js'
import { seededRandomBytes, type Kernel } from '../../../common/rlnc/index.js'
import { estimateRpcBytes } from '../../optimum/outbox.js'
import { createOptimumCore } from '../../optimum/protocol.js'
import { splitRpc } from '../../optimum/wire.js'
import type { CoreEnv, CoreOptions, Delivery, OptimumCore, PeerInfo, PeerKey, Rpc, TraceEvent } from '../../optimum/types.js'

/**
 * N protocol cores over an in-memory network with a virtual clock, for tests
 * and as the carrier of a discrete-event simulator. Everything is an event on
 * one queue ordered by (time, sequence), so a seed fixes the whole run:
 *
 * - a frame from a to b leaves a's uplink after the frames queued before it
 *   (when a has an upload bandwidth; else at once), and arrives `delay(a, b)`
 *   ms later; frames on a link stay in order;
 * - `backlog(peer)` is the bytes a has queued towards that peer and not yet
 *   put on the wire, `uplinkBacklog()` the same towards all peers; when a
 *   frame leaves, a's core hears `drained(peer)`, and when that emptied the
 *   uplink, `uplinkDrained()` too;
 * - each core gets a heartbeat every `heartbeatMs`, at a seeded phase.
 *
 * Signatures are stand-ins (a hash of the public key and bytes), enough for
 * the protocol's checks and for a test to forge one; the codec is the real one.
 */
export interface MemoryNetworkOptions {
  seed: number
  core: CoreOptions
  kernel: Kernel
  /** One-way delay of a link in ms (default 5). */
  delayMs?: number | ((from: PeerKey, to: PeerKey) => number)
  /** Schedule heartbeats (default true). */
  heartbeats?: boolean
}

export interface MemoryNodeOptions {
  /** Upload bandwidth in bytes per ms (1 MB/s = 1000); unlimited when absent. */
  uploadBytesPerMs?: number
  /** Rewrites (or drops, returning undefined) every frame this node sends: adversaries in tests. */
  tamper?: (to: PeerKey, rpc: Rpc) => Rpc | undefined
  core?: Partial<CoreOptions>
}

export interface MemoryNode {
  key: PeerKey
  core: OptimumCore
  /** Deliveries, with their data copied (the core's is a pooled view). */
  delivered: Delivery[]
  traces: TraceEvent[]
  dials: PeerInfo[]
  bytesSent: number
  framesSent: number
}

interface Peer {
  node: MemoryNode
  options: MemoryNodeOptions
  links: Set<PeerKey>
  backlog: Map<PeerKey, number>
  uplinkFreeAt: number
}

const TEXT = new TextEncoder()

function fakeSignature(publicKey: Uint8Array, bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(publicKey).update(bytes).digest()
}

export class MemoryNetwork {
  /** Nodes added while this is set keep their trace events (they are many). */
  keepTraces = false
  private readonly clock = new EventQueue()
  private readonly peers = new Map<PeerKey, Peer>()
  private readonly options: MemoryNetworkOptions
  private readonly random: (out: Uint8Array) => void

  constructor(options: MemoryNetworkOptions) {
    this.options = options
    this.random = seededRandomBytes(options.seed)
  }

  get now(): number {
    return this.clock.now
  }

  get nodes(): MemoryNode[] {
    return [...this.peers.values()].map((p) => p.node)
  }

  node(key: PeerKey): MemoryNode {
    const peer = this.peers.get(key)
    if (peer === undefined) throw new Error(`no node ${key}`)
    return peer.node
  }

  addNode(key: PeerKey, options: MemoryNodeOptions = {}): MemoryNode {
    const index = this.peers.size
    const publicKey = TEXT.encode(key)
    const env: CoreEnv = {
      self: key,
      now: () => this.now,
      random: seededRandomBytes(this.options.seed * 7919 + index + 1),
      kernel: this.options.kernel,
      sign: (bytes) => fakeSignature(publicKey, bytes),
      publicKey,
      verify: (pub, bytes, signature) => {
        const expected = fakeSignature(pub, bytes)
        return expected.length === signature.length && expected.every((b, i) => b === signature[i]) ? new TextDecoder().decode(pub) : undefined
      },
      backlog: (to) => this.peers.get(key)?.backlog.get(to) ?? 0,
      uplinkBacklog: () => this.uplinkBacklog(key),
      addressesOf: (peer) => [`/memory/${peer}`],
    }
    const node: MemoryNode = { key, core: undefined as unknown as OptimumCore, delivered: [], traces: [], dials: [], bytesSent: 0, framesSent: 0 }
    node.core = createOptimumCore({ ...this.options.core, ...options.core }, env, {
      send: (to, rpc) => this.send(key, to, rpc),
      deliver: (message) => node.delivered.push({ ...message, data: message.data.slice() }),
      disconnect: (peer) => this.disconnect(key, peer),
      dial: (info) => node.dials.push(info),
      // Building trace events costs; a core only makes them when someone listens.
      trace: this.keepTraces ? (event) => node.traces.push(event) : undefined,
    })
    this.peers.set(key, { node, options, links: new Set(), backlog: new Map(), uplinkFreeAt: 0 })
    if (this.options.heartbeats ?? true) {
      const period = this.options.core.heartbeatMs
      const word = new Uint8Array(2)
      this.random(word)
      const tick = (): void => {
        if (!this.peers.has(key)) return
        node.core.heartbeat()
        this.clock.at(this.now + period, tick)
      }
      this.clock.at(this.now + (((word[0] << 8) | word[1]) % period) + 1, tick)
    }
    return node
  }

  /** Bytes the node has queued towards all its peers and not yet put on the wire. */
  uplinkBacklog(key: PeerKey): number {
    return [...(this.peers.get(key)?.backlog.values() ?? [])].reduce((sum, bytes) => sum + bytes, 0)
  }

  connect(a: PeerKey, b: PeerKey): void {
    const pa = this.peers.get(a)
    const pb = this.peers.get(b)
    if (pa === undefined || pb === undefined || a === b || pa.links.has(b)) return
    pa.links.add(b)
    pb.links.add(a)
    pa.node.core.addPeer(b, true)
    pb.node.core.addPeer(a, false)
  }

  disconnect(a: PeerKey, b: PeerKey): void {
    const pa = this.peers.get(a)
    const pb = this.peers.get(b)
    if (pa === undefined || pb === undefined || !pa.links.has(b)) return
    pa.links.delete(b)
    pb.links.delete(a)
    pa.backlog.delete(b)
    pb.backlog.delete(a)
    pa.node.core.removePeer(b)
    pb.node.core.removePeer(a)
  }

  connected(a: PeerKey, b: PeerKey): boolean {
    return this.peers.get(a)?.links.has(b) ?? false
  }

  /** Sends a frame from a as if its core had (adversaries in tests use this). */
  inject(from: PeerKey, to: PeerKey, rpc: Rpc): void {
    this.transmit(from, to, rpc)
  }

  /** Runs events up to and including time `until`. */
  runFor(ms: number): void {
    this.clock.runTo(this.now + ms)
  }

  /** Runs events until `done()` holds (checked after each event) or `maxMs` pass; returns whether it held. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    return this.clock.runUntil(done, this.now + maxMs)
  }

  /** A seeded random integer in 0..n-1, for building topologies. */
  int(n: number): number {
    const word = new Uint8Array(4)
    this.random(word)
    return (((word[0] << 24) | (word[1] << 16) | (word[2] << 8) | word[3]) >>> 0) % n
  }

  private send(from: PeerKey, to: PeerKey, rpc: Rpc): void {
    const tamper = this.peers.get(from)?.options.tamper
    const out = tamper === undefined ? rpc : tamper(to, rpc)
    // As the libp2p adapter does: a call's frame may exceed the per-frame caps peers enforce; it goes as several.
    if (out !== undefined) for (const frame of splitRpc(out, Number.MAX_SAFE_INTEGER)) this.transmit(from, to, frame)
  }

  private transmit(from: PeerKey, to: PeerKey, rpc: Rpc): void {
    const sender = this.peers.get(from)
    if (sender === undefined || !sender.links.has(to)) return
    const bytes = sizeOf(rpc)
    sender.node.bytesSent += bytes
    sender.node.framesSent++
    const delay = typeof this.options.delayMs === 'function' ? this.options.delayMs(from, to) : (this.options.delayMs ?? 5)
    const arrive = (): void => {
      const receiver = this.peers.get(to)
      if (receiver !== undefined && receiver.links.has(from)) receiver.node.core.handleRpc(from, rpc)
    }
    const bandwidth = sender.options.uploadBytesPerMs
    if (bandwidth === undefined) {
      this.clock.at(this.now + delay, arrive)
      return
    }
    const leaves = Math.max(this.now, sender.uplinkFreeAt) + bytes / bandwidth
    sender.uplinkFreeAt = leaves
    sender.backlog.set(to, (sender.backlog.get(to) ?? 0) + bytes)
    this.clock.at(leaves, () => {
      const left = (sender.backlog.get(to) ?? 0) - bytes
      if (!sender.links.has(to)) return
      sender.backlog.set(to, Math.max(0, left))
      this.clock.at(this.now + delay, arrive)
      sender.node.core.drained(to)
      // An empty uplink has room for every owed peer (the libp2p adapter does the same).
      if (this.uplinkBacklog(from) === 0) sender.node.core.uplinkDrained()
    })
  }
}

/** What the frame would take on the wire; an adversary's malformed frame counts as a small one. */
function sizeOf(rpc: Rpc): number {
  try {
    return estimateRpcBytes(rpc)
  } catch {
    return 64
  }
}
