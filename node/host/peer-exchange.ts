import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { OptimumError } from '../../common/errors.js'
import { loadWireType } from '../../common/proto.js'
import type { Logger } from '../../common/logger.js'

export const PX_PROTOCOL = '/optimum/px/1.0.0'

const MAX_LIST_BYTES = 64 * 1024
export const MAX_PEERS = 32
export const MAX_ADDRS_PER_PEER = 8
export const MAX_ADDR_LENGTH = 256
const STREAM_TIMEOUT_MS = 5_000

const PeerList = loadWireType('peer_exchange.proto', 'optimum.px.PeerList')

interface PeerInfo {
  peer_id: string
  addrs: string[]
}

export interface PeerExchangeOptions {
  node: Libp2p
  /** Keep asking until this many peers are connected. */
  targetPeers: number
  log: Logger
  /**
   * While below target, a random connected peer is asked this often, and no
   * peer more often than this. Early answers are often empty (everyone is
   * still connecting), so asking again soon is what makes a network form fast.
   */
  intervalMs?: number
}

/**
 * Finds peers beyond the bootstrap peer: a node that has fewer connections
 * than it wants asks a connected peer for the peers it knows (their listen
 * addresses, as identify recorded them) and dials some. Answers are bounded
 * and validated (parsePeerList); a peer that sends garbage is ignored, not
 * trusted.
 */
export class PeerExchange {
  private readonly asked = new Map<string, number>()
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()
  private readonly intervalMs: number

  constructor(private readonly options: PeerExchangeOptions) {
    this.intervalMs = options.intervalMs ?? 2_000
  }

  async start(): Promise<void> {
    const { node } = this.options
    await node.handle(PX_PROTOCOL, (stream, connection) => this.serve(stream, connection), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    })
    node.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => this.tick(), this.intervalMs)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    this.abort.abort()
    clearInterval(this.timer)
    this.options.node.removeEventListener('peer:identify', this.onIdentify)
    await this.options.node.unhandle(PX_PROTOCOL)
  }

  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId; protocols: string[] }>): void => {
    if (event.detail.protocols.includes(PX_PROTOCOL)) this.maybeAsk(event.detail.peerId)
  }

  private tick(): void {
    const peers = this.options.node.getPeers()
    const candidate = peers[Math.floor(Math.random() * peers.length)]
    if (candidate !== undefined) this.maybeAsk(candidate)
  }

  private wantsMore(): boolean {
    return this.options.node.getPeers().length < this.options.targetPeers
  }

  private maybeAsk(peer: PeerId): void {
    if (!this.wantsMore() || this.abort.signal.aborted) return
    const key = peer.toString()
    const now = Date.now()
    const cooldownEnd = now - this.intervalMs
    if ((this.asked.get(key) ?? 0) > cooldownEnd) return
    this.asked.set(key, now)
    for (const [id, at] of this.asked) if (at <= cooldownEnd) this.asked.delete(id)
    this.ask(peer).catch((err: Error) => this.options.log.debug({ peer: key, err: err.message }, 'peer exchange failed'))
  }

  private async ask(peer: PeerId): Promise<void> {
    const { node, log } = this.options
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(STREAM_TIMEOUT_MS)])
    const stream = await node.dialProtocol(peer, PX_PROTOCOL, { signal })
    let candidates: PeerCandidate[]
    try {
      const bytes = await lpStream(stream, { maxDataLength: MAX_LIST_BYTES }).read({ signal })
      candidates = shuffle(parsePeerList(bytes.subarray(), node.peerId))
    } finally {
      stream.abort(new Error('done'))
    }
    const wanted = this.options.targetPeers - node.getPeers().length
    const chosen = candidates.filter(({ id }) => node.getConnections(id).length === 0).slice(0, Math.max(0, wanted))
    if (chosen.length > 0) log.debug({ from: peer.toString(), dialling: chosen.length }, 'peer exchange found new peers')
    await Promise.allSettled(
      chosen.map(async ({ id, addrs }) => {
        await node.peerStore.merge(id, { multiaddrs: addrs })
        await node.dial(id, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(STREAM_TIMEOUT_MS)]) })
      }),
    )
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const { node } = this.options
    const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
    const others = shuffle(node.getPeers().filter((peer) => !peer.equals(connection.remotePeer))).slice(0, MAX_PEERS)
    const peers: PeerInfo[] = []
    for (const peer of others) {
      const record = await node.peerStore.get(peer).catch(() => undefined)
      // only what parsePeerList accepts, or the asker refuses the whole reply
      const addrs = (record?.addresses ?? [])
        .map(({ multiaddr }) => multiaddr.toString())
        .filter((text) => isDialable(text, peer.toString()))
        .slice(0, MAX_ADDRS_PER_PEER)
      if (addrs.length > 0) peers.push({ peer_id: peer.toString(), addrs })
    }
    await lpStream(stream).write(PeerList.encode({ peers }).finish(), { signal })
    await stream.close({ signal })
  }
}

export interface PeerCandidate {
  id: PeerId
  addrs: Multiaddr[]
}

/** Transports the node dials: a host then a TCP port, as the listen addresses identify records. */
const HOST_PROTOCOLS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6'])

/**
 * A peer-exchange reply, checked like every other peer input: it must decode,
 * hold at most MAX_PEERS peers with valid peer ids (not ours, no repeats),
 * each with 1 to MAX_ADDRS_PER_PEER addresses of the shape the node can dial
 * (`/ip4|ip6|dns…/<host>/tcp/<1-65535>`, optionally `/p2p/<that peer>`, at
 * most MAX_ADDR_LENGTH characters). A reply that breaks any rule is refused
 * whole (the peer is not trusted for any of it): throws OptimumError
 * 'invalid_argument' saying what was wrong.
 */
export function parsePeerList(bytes: Uint8Array, self: PeerId): PeerCandidate[] {
  let peers: PeerInfo[]
  try {
    peers = (PeerList.toObject(PeerList.decode(bytes), { arrays: true, defaults: true }) as { peers: PeerInfo[] }).peers
  } catch {
    throw new OptimumError('invalid_argument', 'peer list does not decode')
  }
  if (peers.length > MAX_PEERS) throw new OptimumError('invalid_argument', `peer list has ${peers.length} peers; at most ${MAX_PEERS} are accepted`)
  const seen = new Set<string>()
  const candidates: PeerCandidate[] = []
  for (const info of peers) {
    let id: PeerId
    try {
      id = peerIdFromString(info.peer_id)
    } catch {
      throw new OptimumError('invalid_argument', 'peer list has a malformed peer id')
    }
    if (seen.has(info.peer_id)) throw new OptimumError('invalid_argument', 'peer list names a peer twice')
    seen.add(info.peer_id)
    if (info.addrs.length === 0 || info.addrs.length > MAX_ADDRS_PER_PEER) {
      throw new OptimumError('invalid_argument', `peer list gives a peer ${info.addrs.length} addresses; 1 to ${MAX_ADDRS_PER_PEER} are accepted`)
    }
    const addrs = info.addrs.map((text) => dialableAddress(text, info.peer_id))
    if (!id.equals(self)) candidates.push({ id, addrs })
  }
  return candidates
}

function dialableAddress(text: string, peerId: string): Multiaddr {
  const bad = (why: string) => new OptimumError('invalid_argument', `peer list has an address that ${why}`)
  if (text.length > MAX_ADDR_LENGTH) throw bad(`is longer than ${MAX_ADDR_LENGTH} characters`)
  let addr: Multiaddr
  try {
    addr = multiaddr(text)
  } catch {
    throw bad('does not parse')
  }
  const parts = addr.getComponents()
  const [host, tcp, p2p, ...rest] = parts
  const port = Number(tcp?.value)
  const shapeOk = host !== undefined && HOST_PROTOCOLS.has(host.name) && tcp?.name === 'tcp' && port >= 1 && port <= 65535
  if (!shapeOk || (p2p !== undefined && p2p.name !== 'p2p') || rest.length > 0) throw bad('is not a host and a TCP port')
  if (p2p !== undefined && p2p.value !== peerId) throw bad('names another peer')
  return addr
}

function isDialable(text: string, peerId: string): boolean {
  try {
    dialableAddress(text, peerId)
    return true
  } catch {
    return false
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}
