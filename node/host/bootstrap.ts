import type { Logger } from '../../common/logger.js'

export interface BootstrapTarget {
  /** The full multiaddr, ending in /p2p/<peerId>. */
  addr: string
  peerId: string
}

export interface BootstrapDialerOptions {
  targets: BootstrapTarget[]
  dial(addr: string, signal: AbortSignal): Promise<void>
  isConnected(peerId: string): boolean
  log: Logger
  /** First retry delay; doubles per failure up to maxDelayMs (with ±25% jitter so restarts don't stampede). */
  minDelayMs?: number
  maxDelayMs?: number
  /** How long one dial attempt may take. */
  dialTimeoutMs?: number
}

type State = 'idle' | 'connected' | 'retrying'

interface Peer {
  target: BootstrapTarget
  state: State
  failures: number
  timer?: NodeJS.Timeout
  dialing: boolean
}

/**
 * Keeps this node connected to its bootstrap peers: dials each at start, retries
 * with capped exponential backoff while it is unreachable (it may start later
 * than us), and redials when the connection drops. Logs once per state change,
 * not once per attempt.
 */
export class BootstrapDialer {
  private readonly peers: Map<string, Peer>
  private readonly abort = new AbortController()
  private readonly minDelayMs: number
  private readonly maxDelayMs: number
  private readonly dialTimeoutMs: number

  constructor(private readonly options: BootstrapDialerOptions) {
    this.minDelayMs = options.minDelayMs ?? 500
    this.maxDelayMs = options.maxDelayMs ?? 30_000
    this.dialTimeoutMs = options.dialTimeoutMs ?? 10_000
    this.peers = new Map(
      options.targets.map((target) => [target.peerId, { target, state: 'idle', failures: 0, dialing: false }]),
    )
  }

  start(): void {
    for (const peer of this.peers.values()) this.schedule(peer, 0)
  }

  stop(): void {
    this.abort.abort()
    for (const peer of this.peers.values()) clearTimeout(peer.timer)
  }

  /** Called on every peer disconnect; only bootstrap peers are redialled. */
  peerDisconnected(peerId: string): void {
    const peer = this.peers.get(peerId)
    if (peer === undefined || this.abort.signal.aborted) return
    if (peer.state === 'connected') {
      this.options.log.warn({ peer: peerId }, 'lost connection to bootstrap peer; redialling')
      peer.state = 'idle'
      peer.failures = 0
    }
    this.schedule(peer, this.minDelayMs)
  }

  private schedule(peer: Peer, delayMs: number): void {
    clearTimeout(peer.timer)
    peer.timer = setTimeout(() => void this.attempt(peer), delayMs)
    peer.timer.unref()
  }

  private async attempt(peer: Peer): Promise<void> {
    if (this.abort.signal.aborted || peer.dialing) return
    const { log } = this.options
    if (this.options.isConnected(peer.target.peerId)) {
      this.markConnected(peer)
      return
    }
    peer.dialing = true
    try {
      await this.options.dial(peer.target.addr, AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.dialTimeoutMs)]))
      this.markConnected(peer)
    } catch (err) {
      if (this.abort.signal.aborted) return
      peer.failures++
      if (peer.state !== 'retrying') {
        log.warn({ peer: peer.target.peerId, addr: peer.target.addr, err: (err as Error).message }, 'bootstrap peer unreachable; retrying with backoff')
        peer.state = 'retrying'
      }
      this.schedule(peer, this.backoff(peer.failures))
    } finally {
      peer.dialing = false
    }
  }

  private markConnected(peer: Peer): void {
    if (peer.state !== 'connected') {
      this.options.log.info({ peer: peer.target.peerId, addr: peer.target.addr }, 'connected to bootstrap peer')
    }
    peer.state = 'connected'
    peer.failures = 0
  }

  private backoff(failures: number): number {
    const base = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** Math.min(failures - 1, 20))
    return Math.round(base * (0.75 + Math.random() * 0.5))
  }
}
