import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { loadWireType } from '../../common/proto.js'
import type { Logger } from '../../common/logger.js'

export const PX_PROTOCOL = '/optimum/px/1.0.0'

const MAX_LIST_BYTES = 64 * 1024
const MAX_PEERS = 32
const MAX_ADDRS_PER_PEER = 8
const MAX_ADDR_LENGTH = 256
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
 * and validated; a peer that sends garbage is ignored, not trusted.
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
    let list: PeerInfo[]
    try {
      const bytes = await lpStream(stream, { maxDataLength: MAX_LIST_BYTES }).read({ signal })
      list = (PeerList.toObject(PeerList.decode(bytes.subarray()), { arrays: true }) as { peers: PeerInfo[] }).peers
    } finally {
      stream.abort(new Error('done'))
    }
    const candidates = shuffle(list.slice(0, MAX_PEERS).flatMap((info) => this.parse(info)))
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

  /** One advertised peer → a dialable target, or nothing when anything about it is off. */
  private parse(info: PeerInfo): Array<{ id: PeerId; addrs: Multiaddr[] }> {
    try {
      const id = peerIdFromString(info.peer_id)
      if (id.equals(this.options.node.peerId)) return []
      const addrs = info.addrs.slice(0, MAX_ADDRS_PER_PEER).map((text) => multiaddr(text))
      return addrs.length > 0 ? [{ id, addrs }] : []
    } catch {
      return []
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const { node } = this.options
    const signal = AbortSignal.timeout(STREAM_TIMEOUT_MS)
    const others = shuffle(node.getPeers().filter((peer) => !peer.equals(connection.remotePeer))).slice(0, MAX_PEERS)
    const peers: PeerInfo[] = []
    for (const peer of others) {
      const record = await node.peerStore.get(peer).catch(() => undefined)
      const addrs = (record?.addresses ?? [])
        .map(({ multiaddr }) => multiaddr.toString())
        .filter((text) => text.length <= MAX_ADDR_LENGTH)
        .slice(0, MAX_ADDRS_PER_PEER)
      if (addrs.length > 0) peers.push({ peer_id: peer.toString(), addrs })
    }
    await lpStream(stream).write(PeerList.encode({ peers }).finish(), { signal })
    await stream.close({ signal })
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j]!, items[i]!]
  }
  return items
}
