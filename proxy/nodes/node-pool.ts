import { formatHostPort, type P2PNodeAddress } from '../../common/config/index.js'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import type { SidecarResponse } from '../../common/proto.js'
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../../common/backoff.js'
import type { Arrival } from '../store/store.js'
import { NodeLink, type LinkState } from './node-link.js'

export interface NodePoolOptions {
  nodes: readonly P2PNodeAddress[]
  log: Logger
  publishTimeoutMs: number
  onDelivery(delivery: Arrival): Promise<void>
  /** Called with how long each successful node publish took. */
  onPublished?(node: string, seconds: number): void
  backoff?: BackoffPolicy
  /** Trace responses of every node (see NodeLinkOptions.onTrace). */
  onTrace?(response: SidecarResponse): void
  /** P2P_NODE_TOKEN (see NodeLinkOptions.token). */
  token?: string
}

export interface PublishResult {
  messageId: string
  /** False when the network already carried this id (a retried publish). */
  fresh: boolean
  /** The node that took it. */
  node: string
}

export interface NodeStatus {
  address: string
  state: LinkState
}

/**
 * The proxy's links to every node in P2P_NODES: one sidecar stream each,
 * all subscribed to the same topics, and publishes spread over the links
 * that are up (round robin), failing over to the next on error.
 */
export class NodePool {
  private readonly links: NodeLink[]
  private next = 0

  constructor(private readonly options: NodePoolOptions) {
    this.links = options.nodes.map(
      (node) =>
        new NodeLink({
          address: formatHostPort(node),
          log: options.log,
          backoff: options.backoff ?? DEFAULT_BACKOFF,
          onDelivery: options.onDelivery,
          onTrace: options.onTrace,
          ...(options.token !== undefined && { token: options.token }),
        }),
    )
  }

  /** N in the threshold rule: how many nodes the cluster has. */
  get size(): number {
    return this.links.length
  }

  start(): void {
    for (const link of this.links) link.start()
  }

  stop(): void {
    for (const link of this.links) link.stop()
  }

  setTopics(topics: Iterable<string>): void {
    const list = [...topics]
    for (const link of this.links) link.setTopics(list)
  }

  status(): NodeStatus[] {
    return this.links.map((link) => ({ address: link.address, state: link.state }))
  }

  /**
   * Publishes through one node that is up, trying the others in turn when it
   * fails for a reason another node might not have (unavailable, timeout,
   * internal). A refusal of the message itself (invalid, too large) is final.
   */
  async publish(topic: string, data: Buffer, messageId: string): Promise<PublishResult> {
    const start = this.next++ % this.links.length
    const order = [...this.links.slice(start), ...this.links.slice(0, start)].filter((link) => link.state === 'up')
    let last: OptimumError | undefined
    for (const link of order) {
      try {
        const began = performance.now()
        const ack = await link.publish(topic, data, messageId, this.options.publishTimeoutMs)
        this.options.onPublished?.(link.address, (performance.now() - began) / 1000)
        return { messageId: ack.message_id || messageId, fresh: ack.fresh, node: link.address }
      } catch (err) {
        const error = isOptimumError(err) ? err : new OptimumError('internal', String(err))
        if (error.code === 'invalid_argument' || error.code === 'too_large') throw error
        last = error
        this.options.log.warn({ node: link.address, topic, messageId, err: error.message }, 'publish failed on a node; trying the next')
      }
    }
    throw new OptimumError('unavailable', `no P2P node reachable${last ? ` (last error: ${last.message})` : ''}`)
  }
}
