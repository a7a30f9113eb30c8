import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import type { Logger } from '../../common/logger.js'
import { TimeCache } from '../../common/time-cache.js'

/** The published node's cluster handshake: same protocol id, same JSON, same order, same deadlines. */
export const HANDSHAKE_PROTOCOL = '/optimum/v1/handshake'

const DEFAULT_TIMEOUT_MS = 10_000
/** A {"cluster_id": …} of 128 characters (the config limit) fits many times over. */
const MAX_HELLO_BYTES = 1024
/** How long a peer of another cluster is refused before it may try again (it may be reconfigured). */
const REJECT_TTL_MS = 60_000
const REJECT_MAX = 10_000

export type VerifiedListener = (peer: PeerId, connection: Connection) => void

export interface ClusterHandshakeOptions {
  node: Libp2p
  clusterId: string
  log: Logger
  /** Read and write deadline of each side (10 s, as published). */
  timeoutMs?: number
}

/**
 * Keeps peers of other clusters out. On every new connection the dialling
 * side sends {"cluster_id": "…"} on /optimum/v1/handshake and the listening
 * side answers with its own; each compares. A mismatch, a peer that does not
 * answer within the deadline, or one that never opens the handshake hangs up
 * the peer, and its id is refused for a while (so the bootstrap dialler does
 * not reconnect it in a loop). The mode's protocol admits only verified peers.
 */
export class ClusterHandshake {
  /** Refused peer ids; the host's connection gater reads it. */
  readonly rejected = new TimeCache<string>(REJECT_TTL_MS, REJECT_MAX)
  private readonly verified = new Set<string>()
  private readonly waiting = new Map<string, Set<(ok: boolean) => void>>()
  private readonly listeners = new Set<VerifiedListener>()
  private readonly timeoutMs: number
  private readonly abort = new AbortController()

  constructor(private readonly options: ClusterHandshakeOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  async start(): Promise<void> {
    const { node } = this.options
    await node.handle(HANDSHAKE_PROTOCOL, (stream, connection) => this.answer(stream, connection), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    })
    node.addEventListener('connection:open', this.onConnection)
    node.addEventListener('peer:disconnect', this.onDisconnect)
    // Connections that opened before start() (the host starts listening first).
    for (const connection of node.getConnections()) this.onConnection(new CustomEvent('connection:open', { detail: connection }))
  }

  async stop(): Promise<void> {
    this.abort.abort()
    const { node } = this.options
    node.removeEventListener('connection:open', this.onConnection)
    node.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const peer of [...this.waiting.keys()]) this.settle(peer, false)
    await node.unhandle(HANDSHAKE_PROTOCOL)
  }

  isVerified(peer: string): boolean {
    return this.verified.has(peer)
  }

  /** Called once per peer when its first connection passes. */
  onVerified(listener: VerifiedListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves true once the peer is verified, false when it fails or the deadline passes. */
  whenVerified(peer: string): Promise<boolean> {
    if (this.verified.has(peer)) return Promise.resolve(true)
    if (this.abort.signal.aborted) return Promise.resolve(false)
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), this.timeoutMs)
      const done = (ok: boolean): void => {
        clearTimeout(timer)
        this.waiting.get(peer)?.delete(done)
        resolve(ok)
      }
      let set = this.waiting.get(peer)
      if (set === undefined) this.waiting.set(peer, (set = new Set()))
      set.add(done)
    })
  }

  private readonly onConnection = (event: CustomEvent<Connection>): void => {
    const connection = event.detail
    const peer = connection.remotePeer.toString()
    if (this.rejected.has(peer)) {
      void this.hangUp(connection.remotePeer, 'refused recently')
      return
    }
    if (connection.direction === 'outbound') {
      this.initiate(connection).catch((err: Error) => this.fail(connection, `handshake failed: ${err.message}`))
      return
    }
    // The dialler speaks first; one that never does is not of our kind.
    this.whenVerified(peer).then((ok) => {
      if (!ok && connection.status === 'open' && !this.verified.has(peer)) this.fail(connection, 'no handshake within the deadline')
    }, () => {})
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.verified.delete(event.detail.toString())
  }

  private async initiate(connection: Connection): Promise<void> {
    const signal = this.deadline()
    const stream = await connection.newStream(HANDSHAKE_PROTOCOL, { signal })
    try {
      const bytes = byteStream(stream, { maxBufferSize: MAX_HELLO_BYTES })
      await bytes.write(this.hello(), { signal })
      this.judge(connection, await readHello(bytes, signal))
    } finally {
      await stream.close({ signal }).catch(() => stream.abort(new Error('handshake done')))
    }
  }

  private async answer(stream: Stream, connection: Connection): Promise<void> {
    const signal = this.deadline()
    try {
      const bytes = byteStream(stream, { maxBufferSize: MAX_HELLO_BYTES })
      const theirs = await readHello(bytes, signal)
      await bytes.write(this.hello(), { signal })
      this.judge(connection, theirs)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      this.fail(connection, `handshake failed: ${(err as Error).message}`)
    }
  }

  private judge(connection: Connection, theirs: string): void {
    if (theirs !== this.options.clusterId) {
      this.fail(connection, `cluster mismatch: theirs is "${theirs}", ours "${this.options.clusterId}"`, true)
      return
    }
    const peer = connection.remotePeer.toString()
    if (this.verified.has(peer) || connection.status !== 'open') return
    this.verified.add(peer)
    this.options.log.debug({ peer }, 'cluster handshake passed')
    this.settle(peer, true)
    for (const listener of this.listeners) listener(connection.remotePeer, connection)
  }

  /** Only a peer that named another cluster is refused for a while; a broken handshake just hangs up. */
  private fail(connection: Connection, reason: string, mismatch = false): void {
    if (this.abort.signal.aborted) return
    const peer = connection.remotePeer.toString()
    if (this.verified.has(peer)) {
      // Another connection of this peer already passed; only this one goes.
      void connection.close().catch(() => {})
      return
    }
    if (!mismatch || this.rejected.add(peer)) this.options.log.warn({ peer, reason }, 'disconnecting a peer that failed the cluster handshake')
    this.settle(peer, false)
    void this.hangUp(connection.remotePeer, reason)
  }

  private settle(peer: string, ok: boolean): void {
    for (const done of [...(this.waiting.get(peer) ?? [])]) done(ok)
    this.waiting.delete(peer)
  }

  private async hangUp(peer: PeerId, reason: string): Promise<void> {
    await this.options.node.hangUp(peer).catch((err: Error) => this.options.log.debug({ peer: peer.toString(), reason, err: err.message }, 'hang-up failed'))
  }

  private hello(): Uint8Array {
    return new TextEncoder().encode(`${JSON.stringify({ cluster_id: this.options.clusterId })}\n`)
  }

  private deadline(): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)])
  }
}

/** One JSON object, newline-terminated (as Go's json.Encoder writes it) or ended by the stream's close. */
async function readHello(bytes: ReturnType<typeof byteStream<Stream>>, signal: AbortSignal): Promise<string> {
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    const chunk = await bytes.read({ signal })
    if (chunk !== null) text += decoder.decode(chunk.subarray(), { stream: true })
    if (text.length > MAX_HELLO_BYTES) throw new Error('handshake message too long')
    const end = text.indexOf('\n')
    if (end >= 0 || chunk === null) return clusterIdOf(end >= 0 ? text.slice(0, end) : text)
  }
}

function clusterIdOf(json: string): string {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    throw new Error('handshake message is not JSON')
  }
  const id = (value as { cluster_id?: unknown } | null)?.cluster_id
  if (typeof id !== 'string') throw new Error('handshake message has no cluster_id string')
  return id
}
