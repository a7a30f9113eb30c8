import { escape } from '../store/keys.js'

/**
 * The tracer's Redis keys, built here and nowhere else, with the store's
 * conventions (proxy/store/keys.ts): the proxy prefix, one hash tag, escaped
 * names. All of them share the tag `{tr}`, so the merge script touches one
 * slot on a Redis Cluster; the tracer's load is a dashboard's, one slot
 * carries it.
 */
export class TracerKeys {
  constructor(readonly prefix: string) {}

  /** Hash of one traced message (fields: ./README.md). TTL: the longest window. */
  message(messageId: string): string {
    return `${this.prefix}{tr}:m:${escape(messageId)}`
  }

  /** Sorted set of message ids by the time the cluster first traced them (ms). */
  index(): string {
    return `${this.prefix}{tr}:index`
  }

  /** Hash of node address (as in P2P_NODES) → ms when a replica last had its link to it up. */
  nodes(): string {
    return `${this.prefix}{tr}:nodes`
  }

  /** String: ms of the last reset; windows never reach before it. */
  reset(): string {
    return `${this.prefix}{tr}:reset`
  }
}
