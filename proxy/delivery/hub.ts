/**
 * Fan-out of the per-topic event streams to the clients connected to this
 * replica. One tail (one `XREAD BLOCK` loop) per topic with local clients,
 * shared by all of them, started with the first and stopped with the last.
 * Each (client, topic) keeps its own position, so a client first replays what
 * became deliverable while it was away and then continues live, without skip
 * or duplicate. See ./README.md.
 */
import type { Logger } from '../../common/logger.js'
import type { ProxyStore } from '../store/store.js'
import type { AttachOptions, Attachment, DeliverySink } from './types.js'

export interface DeliveryHubOptions {
  store: ProxyStore
  /** N: the number of nodes in P2P_NODES, for `ceil(threshold × N)`. */
  nodeCount: number
  logger?: Logger
  /** How often reached cursors are written to Redis (ms); default 100. */
  cursorFlushMs?: number
  /** Events read per XREAD/XRANGE call; default 256. */
  batchSize?: number
}

export interface HubStats {
  /** Attachments on this replica. */
  attachments: number
  /** Topics tailed by this replica. */
  tails: string[]
}

export class DeliveryHub {
  constructor(options: DeliveryHubOptions) {
    void options
    throw new Error('not implemented yet')
  }

  /**
   * Attach a connection of `clientId`. Resolves once replay has been started
   * (deliveries follow through `sink`). Rejects with OptimumError
   * `invalid_argument` for a malformed `since`, `unavailable` when Redis is down.
   *
   * One client_id connected twice (on this replica or another): both
   * connections receive everything, each from its own position; the stored
   * cursor only moves forward, so a later reconnect resumes after what at
   * least one of them was sent.
   */
  attach(clientId: string, sink: DeliverySink, options: AttachOptions = {}): Promise<Attachment> {
    void clientId, sink, options
    throw new Error('not implemented yet')
  }

  stats(): HubStats {
    throw new Error('not implemented yet')
  }

  /** Close every attachment with `shutdown`, store cursors and stop the tails. */
  close(): Promise<void> {
    throw new Error('not implemented yet')
  }
}
