import type { EventQueue } from '../common/event-queue.js'
import type { SimRandom } from './random.js'

/**
 * The modelled network between simulated nodes. A frame from a to b:
 *
 * 1. waits for a's uplink (FIFO over all of a's links, so a busy uplink
 *    delays every later frame) and takes bytes ÷ upload bandwidth on it;
 *    until it has left, its bytes count in a's backlog towards b and in
 *    a's uplink backlog (towards all its peers);
 * 2. its first byte reaches b one link latency after it started;
 * 3. it then needs b's downlink (FIFO over all senders), and is handed to b
 *    when its last byte is through both links (cut-through: the two
 *    serialisations overlap, as bytes stream through a real path);
 * 4. with probability `loss` it is lost once and resent, as TCP does: it
 *    arrives a retransmission timeout (200 ms + one round trip) late, and
 *    the frames after it on the same link wait for it (drawn at send time,
 *    so a seed fixes which frames are hit);
 * 5. frames on one link arrive in the order they were sent (one connection).
 *
 * Small frames (control: IDONTWANT, GRAFT, IHAVE…) skip the queue of the
 * other links' bulk data: a real node writes them on their own connection,
 * where they interleave with other connections' data instead of waiting
 * behind all of it. They still wait for their own link's earlier frames, and
 * their bytes count.
 *
 * Links are bidirectional with one latency each way, drawn once per link.
 */
export interface NetworkOptions {
  /** Bytes per ms (1 Mbit/s = 125). Infinity for an unlimited link. */
  uplinkBytesPerMs: number
  downlinkBytesPerMs: number
  /** One-way link latency range in ms, drawn uniformly per link. */
  latencyMs: readonly [number, number]
  /** Probability that a frame is lost. */
  loss: number
  /**
   * The sender hears `uplinkDrained` when its uplink backlog falls below this
   * many bytes after having reached it (the core's backlog bound: only then
   * can it have shards waiting). Infinity: never.
   */
  drainBelowBytes: number
}

export interface NetworkHandlers {
  linkUp(peer: string, outbound: boolean): void
  linkDown(peer: string): void
  receive(from: string, frame: unknown): void
  /** The uplink backlog (all peers together) fell below the bound. */
  uplinkDrained(): void
}

/** Frames at most this big bypass the bandwidth queues (see above). */
export const CONTROL_BYPASS_BYTES = 2048
/** Linux's minimum TCP retransmission timeout; a loss costs this plus one round trip. */
const RTO_MIN_MS = 200

/**
 * Frames waiting for an uplink: one link's, or all of a host's. Departures
 * from the uplink are FIFO, so the frames still queued are a suffix of those
 * sent: their leave times and sizes sit in two arrays from `head` on, and the
 * backlog is computed when asked instead of costing an event per frame.
 */
class FrameQueue {
  private times: number[] = []
  private sizes: number[] = []
  private head = 0
  private queued = 0

  push(leaves: number, bytes: number): void {
    this.times.push(leaves)
    this.sizes.push(bytes)
    this.queued += bytes
  }

  backlog(now: number): number {
    while (this.head < this.times.length && this.times[this.head] <= now) this.queued -= this.sizes[this.head++]
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head)
      this.sizes = this.sizes.slice(this.head)
      this.head = 0
    }
    return this.head === this.times.length ? 0 : this.queued
  }

  /** When the backlog (as of now) falls below `bytes`, if nothing more is queued. */
  fallsBelow(now: number, bytes: number): number {
    let left = this.backlog(now)
    for (let i = this.head; i < this.times.length; i++) {
      left -= this.sizes[i]
      if (left < bytes) return this.times[i]
    }
    return now
  }
}

/** One direction of a link. */
class Link extends FrameQueue {
  /** When the last frame sent on this link leaves the uplink, and when it arrives (a connection delivers in order). */
  lastLeaves = 0
  lastArrives = 0

  constructor(readonly latency: number) {
    super()
  }
}

/** A frame between leaving its sender and reaching its receiver. */
interface Flight {
  from: string
  to: string
  frame: unknown
  bytes: number
  upDone: number
  retransmit: number
  link: Link
}

interface Host {
  handlers: NetworkHandlers
  links: Map<string, Link>
  /** Every bulk frame of the host, whatever its link: the uplink they share. */
  uplink: FrameQueue
  /** A check for the uplink falling below the drain bound is pending. */
  drainCheck: boolean
  upFreeAt: number
  downFreeAt: number
}

export class SimNetwork {
  private readonly hosts = new Map<string, Host>()

  constructor(
    private readonly queue: EventQueue,
    private readonly random: SimRandom,
    private readonly options: NetworkOptions,
  ) {}

  addHost(key: string, handlers: NetworkHandlers): void {
    this.hosts.set(key, { handlers, links: new Map(), uplink: new FrameQueue(), drainCheck: false, upFreeAt: 0, downFreeAt: 0 })
  }

  /** Tears down every link of the host (its peers hear linkDown) and forgets it. */
  removeHost(key: string): void {
    const host = this.hosts.get(key)
    if (host === undefined) return
    for (const peer of [...host.links.keys()]) this.disconnect(key, peer)
    this.hosts.delete(key)
  }

  has(key: string): boolean {
    return this.hosts.has(key)
  }

  degree(key: string): number {
    return this.hosts.get(key)?.links.size ?? 0
  }

  linked(a: string, b: string): boolean {
    return this.hosts.get(a)?.links.has(b) ?? false
  }

  connect(a: string, b: string): boolean {
    const ha = this.hosts.get(a)
    const hb = this.hosts.get(b)
    if (ha === undefined || hb === undefined || a === b || ha.links.has(b)) return false
    const [low, high] = this.options.latencyMs
    const latency = this.random.between(low, high)
    ha.links.set(b, new Link(latency))
    hb.links.set(a, new Link(latency))
    ha.handlers.linkUp(b, true)
    hb.handlers.linkUp(a, false)
    return true
  }

  disconnect(a: string, b: string): void {
    const ha = this.hosts.get(a)
    const hb = this.hosts.get(b)
    if (ha === undefined || hb === undefined || !ha.links.has(b)) return
    ha.links.delete(b)
    hb.links.delete(a)
    ha.handlers.linkDown(b)
    hb.handlers.linkDown(a)
  }

  /** Bytes queued from a towards b and not yet on the wire. */
  backlog(a: string, b: string): number {
    return this.hosts.get(a)?.links.get(b)?.backlog(this.queue.now) ?? 0
  }

  /** Bytes queued on a's uplink towards all its peers and not yet on the wire. */
  uplinkBacklog(a: string): number {
    return this.hosts.get(a)?.uplink.backlog(this.queue.now) ?? 0
  }

  /** Puts a frame of `bytes` on the path from a to b; returns false when they are not linked. */
  send(from: string, to: string, bytes: number, frame: unknown): boolean {
    const sender = this.hosts.get(from)
    const link = sender?.links.get(to)
    if (sender === undefined || link === undefined) return false
    const { queue } = this
    const bulk = bytes > CONTROL_BYPASS_BYTES
    // A control frame still waits for what is queued on its own connection, not for the other links' data.
    const start = Math.max(queue.now, bulk ? sender.upFreeAt : link.lastLeaves)
    const upDone = start + bytes / this.options.uplinkBytesPerMs
    link.lastLeaves = upDone
    if (bulk) {
      sender.upFreeAt = upDone
      link.push(upDone, bytes)
      sender.uplink.push(upDone, bytes)
      this.watchUplink(from, sender)
    }
    // A lost segment costs a retransmission timeout, and holds back what follows it on the connection.
    const retransmit = this.options.loss > 0 && this.random.next() < this.options.loss ? RTO_MIN_MS + 2 * link.latency : 0
    const flight: Flight = { from, to, frame, bytes, upDone, retransmit, link }
    if (this.options.downlinkBytesPerMs === Infinity || !bulk) queue.at(this.inOrder(flight, upDone + link.latency), this.arrive, flight)
    else queue.at(start + link.latency, this.firstByte, flight)
    return true
  }

  private inOrder(flight: Flight, at: number): number {
    flight.link.lastArrives = Math.max(at + flight.retransmit, flight.link.lastArrives)
    return flight.link.lastArrives
  }

  /** The first byte reached the receiver: the frame joins its downlink queue. */
  private readonly firstByte = (flight: Flight): void => {
    const receiver = this.hosts.get(flight.to)
    if (receiver === undefined) return
    const { queue } = this
    const downStart = Math.max(queue.now, receiver.downFreeAt)
    const done = Math.max(downStart + flight.bytes / this.options.downlinkBytesPerMs, flight.upDone + flight.link.latency)
    receiver.downFreeAt = done
    queue.at(this.inOrder(flight, done), this.arrive, flight)
  }

  private readonly arrive = (flight: Flight): void => {
    const receiver = this.hosts.get(flight.to)
    if (receiver !== undefined && receiver.links.has(flight.from)) receiver.handlers.receive(flight.from, flight.frame)
  }

  /**
   * Once the host's uplink backlog reached the bound, one pending check tells
   * it (`uplinkDrained`) when the backlog fell below. A link's own backlog is
   * part of the uplink's, so it is below the bound by then too.
   */
  private watchUplink(key: string, sender: Host): void {
    const bound = this.options.drainBelowBytes
    const { queue } = this
    const { uplink } = sender
    if (sender.drainCheck || uplink.backlog(queue.now) < bound) return
    sender.drainCheck = true
    const check = (): void => {
      if (this.hosts.get(key) !== sender) return
      if (uplink.backlog(queue.now) < bound) {
        sender.drainCheck = false
        sender.handlers.uplinkDrained()
      } else {
        queue.at(uplink.fallsBelow(queue.now, bound), check)
      }
    }
    queue.at(uplink.fallsBelow(queue.now, bound), check)
  }
}
