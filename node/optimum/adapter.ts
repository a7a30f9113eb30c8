import type { Connection, Libp2p, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Logger } from '../../common/logger.js'
import type { ClusterHandshake } from '../host/handshake.js'
import { FrameReader } from './frame-reader.js'
import type { OptimumCore, PeerInfo, PeerKey, Rpc } from './types.js'
import { decodeRpc, encodeRpc, maxFrameBytes, OPTIMUM_PROTOCOL, rpcWeight, splitRpc, WireError } from './wire.js'

/** Frames that break the wire rules before a peer is cut off (one may be a bug; several are not). */
const MAX_VIOLATIONS = 3
/**
 * Work a peer may ask of this node per second on average (one unit per frame
 * and per shard, subscription or control entry in it: `rpcWeight`), with
 * this much in one burst. Honest peers stay an order of magnitude below (a
 * few units per message, at most 1,000 IHAVE entries per heartbeat); a peer
 * far above it is flooding.
 */
const UNITS_PER_SECOND = 50_000
const UNIT_BURST = 100_000
/** Bytes queued towards one peer before it counts as stuck and is dropped (the core defers shards long before). */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024
/** Frames to one peer sent as one write, at most (a write is cut into muxer frames anyway). */
const MAX_WRITE_BYTES = 256 * 1024
/** Peer-exchange dials in flight at once, and connections past which suggestions are ignored. */
const MAX_PX_DIALS = 4
const PX_DIAL_TIMEOUT_MS = 5_000
/** Listen addresses kept per peer for peer exchange (as the wire allows). */
const MAX_ADDRS = 8
const MAX_ADDR_LENGTH = 256

export interface AdapterMetrics {
  /** A peer broke the wire rules: 'malformed', 'flooding' or 'unreadable'. */
  violation(reason: string): void
}

export interface OptimumAdapterOptions {
  node: Libp2p
  handshake: ClusterHandshake
  maxMessageSize: number
  heartbeatMs: number
  /** Peer-exchange suggestions are dialled only while the node has fewer connected peers. */
  maxPeers: number
  log: Logger
  metrics?: AdapterMetrics
}

/** One peer as the core knows it: the stream this node writes on, and what waits to be written. */
interface Link {
  peer: PeerKey
  connection: Connection
  stream?: Stream
  queue: Uint8ArrayList[]
  queuedBytes: number
  draining: boolean
  /** A pump is due at the end of this turn. */
  scheduled: boolean
  closed: boolean
}

interface Inbound {
  violations: number
  tokens: number
  refilledAt: number
}

/**
 * Binds the protocol core to libp2p: for every peer that passed the cluster
 * handshake, one long-lived outbound stream on /optimum/rlnc/1.0.0 carries
 * this node's frames (queued with backpressure, the backlog reported to the
 * core); the peer's own stream is read, validated by the wire codec and fed
 * to the core. Also owns the heartbeat timer, and carries out the core's
 * disconnects and peer-exchange dials.
 */
export class OptimumAdapter {
  private core?: OptimumCore
  private readonly links = new Map<PeerKey, Link>()
  private readonly inbound = new Map<PeerKey, Inbound>()
  /** Peers' listen addresses as identify reported them (an inbound connection's remote address is not dialable). */
  private readonly listenAddrs = new Map<PeerKey, string[]>()
  private readonly frameCap: number
  private heartbeat?: NodeJS.Timeout
  private pxDials = 0
  private stopped = false
  private unsubscribe?: () => void

  constructor(private readonly options: OptimumAdapterOptions) {
    this.frameCap = maxFrameBytes(options.maxMessageSize)
  }

  /** Registers the protocol and starts feeding `core`; peers already verified join at once. */
  async start(core: OptimumCore): Promise<void> {
    const { node, handshake } = this.options
    this.core = core
    await node.handle(OPTIMUM_PROTOCOL, (stream, connection) => this.read(stream, connection), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    })
    this.unsubscribe = handshake.onVerified((peer, connection) => this.link(peer.toString(), connection))
    node.addEventListener('peer:disconnect', this.onDisconnect)
    node.addEventListener('peer:identify', this.onIdentify)
    for (const peer of node.getPeers()) {
      const connection = node.getConnections(peer).find((c) => c.status === 'open')
      if (connection && handshake.isVerified(peer.toString())) this.link(peer.toString(), connection)
    }
    this.heartbeat = setInterval(() => core.heartbeat(), this.options.heartbeatMs)
    this.heartbeat.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.heartbeat)
    this.unsubscribe?.()
    this.options.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.options.node.removeEventListener('peer:identify', this.onIdentify)
    for (const link of [...this.links.values()]) this.unlink(link)
    await this.options.node.unhandle(OPTIMUM_PROTOCOL)
  }

  // ---- what the core asks of its environment and outputs ----

  backlog(peer: PeerKey): number {
    const link = this.links.get(peer)
    return link === undefined ? 0 : queued(link)
  }

  uplinkBacklog(): number {
    let bytes = 0
    for (const link of this.links.values()) bytes += queued(link)
    return bytes
  }

  addressesOf(peer: PeerKey): string[] {
    const known = this.listenAddrs.get(peer)
    if (known !== undefined) return known
    const link = this.links.get(peer)
    // A connection we dialled goes to an address the peer listens on.
    return link?.connection.direction === 'outbound' ? [link.connection.remoteAddr.toString()] : []
  }

  send(peer: PeerKey, rpc: Rpc): void {
    const link = this.links.get(peer)
    if (link === undefined || link.closed) return
    for (const frame of splitRpc(rpc, this.frameCap)) {
      const body = encodeRpc(frame)
      const prefixed = new Uint8ArrayList(varint.encode(body.length), body)
      link.queue.push(prefixed)
      link.queuedBytes += prefixed.byteLength
    }
    if (this.backlog(peer) > MAX_BACKLOG_BYTES) {
      this.disconnect(peer, `more than ${MAX_BACKLOG_BYTES} bytes queued towards it`)
      return
    }
    this.schedulePump(link)
  }

  /**
   * Pumps once the current synchronous work is done: the frames that the
   * frames of one socket read make (one per peer per core call) then leave as
   * one write, not as a muxer frame, an encryption and a syscall each.
   */
  private schedulePump(link: Link): void {
    if (link.scheduled) return
    link.scheduled = true
    queueMicrotask(() => {
      link.scheduled = false
      void this.pump(link)
    })
  }

  disconnect(peer: PeerKey, reason: string): void {
    if (this.stopped) return
    this.options.log.warn({ peer, reason }, 'disconnecting peer')
    const link = this.links.get(peer)
    if (link) this.unlink(link)
    let id: PeerId
    try {
      id = peerIdFromString(peer)
    } catch {
      return
    }
    this.options.node.hangUp(id).catch(() => {})
  }

  dial(info: PeerInfo): void {
    const { node, log, maxPeers } = this.options
    if (this.stopped || this.pxDials >= MAX_PX_DIALS || node.getPeers().length >= maxPeers || this.links.has(info.id)) return
    let id: PeerId
    let addrs
    try {
      id = peerIdFromString(info.id)
      addrs = info.addrs.map((a) => multiaddr(a))
    } catch {
      return // a suggestion we cannot parse is simply not followed
    }
    if (id.equals(node.peerId) || addrs.length === 0) return
    this.pxDials++
    const signal = AbortSignal.timeout(PX_DIAL_TIMEOUT_MS)
    node.peerStore
      .merge(id, { multiaddrs: addrs })
      .then(() => node.dial(id, { signal }))
      .catch((err: Error) => log.debug({ peer: info.id, err: err.message }, 'peer-exchange dial failed'))
      .finally(() => this.pxDials--)
  }

  // ---- writing ----

  /** A handshaken peer joins the core; its stream opens in the background, frames queue until then. */
  private link(peer: PeerKey, connection: Connection): void {
    if (this.stopped || this.links.has(peer) || this.core === undefined) return
    const link: Link = { peer, connection, queue: [], queuedBytes: 0, draining: false, scheduled: false, closed: false }
    this.links.set(peer, link)
    this.core.addPeer(peer, connection.direction === 'outbound')
    connection
      .newStream(OPTIMUM_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
      .then((stream) => {
        if (link.closed) {
          stream.abort(new Error('peer left'))
          return
        }
        link.stream = stream
        stream.addEventListener('close', () => this.linkLost(link), { once: true })
        void this.pump(link)
      })
      .catch((err: Error) => this.disconnect(peer, `cannot open the optimum stream: ${err.message}`))
  }

  private async pump(link: Link): Promise<void> {
    const stream = link.stream
    if (stream === undefined || link.draining) return
    link.draining = true
    try {
      while (link.queue.length > 0 && !link.closed) {
        const batch = takeBatch(link)
        if (!stream.send(batch)) await stream.onDrain()
      }
    } catch (err) {
      if (!link.closed) this.disconnect(link.peer, `write failed: ${(err as Error).message}`)
      return
    } finally {
      link.draining = false
    }
    if (!link.closed) this.notifyDrained(link, stream)
  }

  /**
   * Tells the core once the stream's own buffer is empty too (the core measures
   * the whole backlog), on a later turn: its answer is more sends, which would
   * otherwise pump again from inside this one.
   */
  private notifyDrained(link: Link, stream: Stream): void {
    const notify = (): void => {
      if (link.closed || link.draining || link.queue.length > 0) return
      this.core?.drained(link.peer)
      // The uplink is shared: once nothing waits on it, its room is every owed peer's.
      if (this.uplinkBacklog() === 0) this.core?.uplinkDrained()
    }
    if (stream.writeBufferLength === 0) setImmediate(notify)
    else stream.addEventListener('idle', () => setImmediate(notify), { once: true })
  }

  /** Our stream to the peer ended while its connection may live on: drop the peer from the core, then rejoin it if still connected. */
  private linkLost(link: Link): void {
    if (link.closed || this.stopped) return
    this.unlink(link)
    const connection = this.options.node.getConnections(link.connection.remotePeer).find((c) => c.status === 'open')
    if (connection && this.options.handshake.isVerified(link.peer)) this.link(link.peer, connection)
  }

  private unlink(link: Link): void {
    if (link.closed) return
    link.closed = true
    link.queue = []
    link.queuedBytes = 0
    if (this.links.get(link.peer) === link) this.links.delete(link.peer)
    link.stream?.abort(new Error('peer removed'))
    this.core?.removePeer(link.peer)
  }

  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId; listenAddrs: Array<{ toString(): string }> }>): void => {
    const peer = event.detail.peerId.toString()
    const addrs = event.detail.listenAddrs
      .map((addr) => addr.toString())
      .filter((addr) => addr.length <= MAX_ADDR_LENGTH)
      .slice(0, MAX_ADDRS)
    if (addrs.length > 0) this.listenAddrs.set(peer, addrs)
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peer = event.detail.toString()
    this.inbound.delete(peer)
    this.listenAddrs.delete(peer)
    const link = this.links.get(peer)
    if (link) this.unlink(link)
  }

  // ---- reading ----

  /**
   * The peer's stream, read as bytes arrive: frames are cut, validated and
   * handed to the core synchronously inside the message event, so nothing
   * piles up here (the socket waits while this node is busy).
   */
  private async read(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    if (!(await this.options.handshake.whenVerified(peer)) || this.stopped) {
      stream.abort(new Error('cluster handshake not passed'))
      return
    }
    const reader = new FrameReader(this.frameCap)
    const { maxMessageSize } = this.options
    const cutOff = (reason: string, why: string): void => {
      stream.removeEventListener('message', onMessage)
      this.options.metrics?.violation(reason)
      this.disconnect(peer, why)
    }
    const onMessage = (event: StreamMessageEvent): void => {
      let frames: Uint8Array[]
      try {
        frames = reader.push(event.data)
      } catch (err) {
        cutOff('unreadable', (err as Error).message)
        return
      }
      for (const frame of frames) {
        if (this.stopped || !this.links.has(peer)) {
          stream.removeEventListener('message', onMessage)
          return
        }
        let rpc: Rpc | undefined
        let problem: string | undefined
        try {
          rpc = decodeRpc(frame, { maxMessageSize })
        } catch (err) {
          if (!(err instanceof WireError)) throw err
          problem = err.message
        }
        if (!this.admit(peer, rpc === undefined ? 1 : rpcWeight(rpc))) {
          cutOff('flooding', 'flooding: more frames and entries than any honest peer sends')
          return
        }
        if (rpc !== undefined) {
          this.core?.handleRpc(peer, rpc)
        } else if (this.violation(peer, problem!)) {
          stream.removeEventListener('message', onMessage)
          return
        }
      }
    }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('close', () => stream.removeEventListener('message', onMessage), { once: true })
  }

  /** Token bucket per peer; false once the frame's weight does not fit. */
  private admit(peer: PeerKey, weight: number): boolean {
    const now = Date.now()
    let state = this.inbound.get(peer)
    if (state === undefined) this.inbound.set(peer, (state = { violations: 0, tokens: UNIT_BURST, refilledAt: now }))
    state.tokens = Math.min(UNIT_BURST, state.tokens + ((now - state.refilledAt) / 1000) * UNITS_PER_SECOND)
    state.refilledAt = now
    state.tokens -= weight
    return state.tokens >= 0
  }

  /** Records a malformed frame; true when the peer has been cut off for it. */
  private violation(peer: PeerKey, reason: string): boolean {
    this.options.metrics?.violation('malformed')
    const state = this.inbound.get(peer)!
    state.violations++
    this.options.log.debug({ peer, reason }, 'malformed frame from peer')
    if (state.violations < MAX_VIOLATIONS) return false
    this.disconnect(peer, `${state.violations} malformed frames, the last: ${reason}`)
    return true
  }
}

/** Bytes of ours towards the link's peer not yet handed to the connection. */
/** Queued frames from the front, up to MAX_WRITE_BYTES together (at least one), as one list. */
function takeBatch(link: Link): Uint8ArrayList {
  const batch = new Uint8ArrayList()
  while (link.queue.length > 0 && (batch.byteLength === 0 || batch.byteLength + link.queue[0]!.byteLength <= MAX_WRITE_BYTES)) {
    const frame = link.queue.shift()!
    link.queuedBytes -= frame.byteLength
    batch.append(frame)
  }
  return batch
}

function queued(link: Link): number {
  return link.queuedBytes + (link.stream?.writeBufferLength ?? 0)
}
