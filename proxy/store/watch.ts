/**
 * Follows subscription changes of the whole cluster by polling the store's
 * change log, so node connections subscribe on the nodes (and the hub follows
 * attached clients) within a fraction of a second of a change on any replica.
 * One owner starts and stops the poll loop; Redis outages are retried.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from '../../common/logger.js'
import type { ProxyStore, SubscriptionChange } from './store.js'

export interface SubscriptionWatchEvents {
  /** The set of topics with at least one subscriber changed: here it is, whole. */
  topics: [topics: string[]]
  /** Subscriptions of these clients changed (re-read them). */
  clients: [changes: SubscriptionChange[]]
  /** Changes were lost (log trimmed, Redis restarted empty): re-read every client of interest. */
  resync: []
}

export interface SubscriptionWatchOptions {
  store: ProxyStore
  /** Poll period in ms; default 200. */
  intervalMs?: number
  logger?: Logger
}

export class SubscriptionWatch extends EventEmitter<SubscriptionWatchEvents> {
  constructor(options: SubscriptionWatchOptions) {
    super()
    void options
    throw new Error('not implemented yet')
  }

  /** Reads the active topics once (emitting `topics`), then polls. */
  start(): Promise<void> {
    throw new Error('not implemented yet')
  }

  /** The last known active topics. */
  topics(): string[] {
    throw new Error('not implemented yet')
  }

  stop(): void {
    throw new Error('not implemented yet')
  }
}
