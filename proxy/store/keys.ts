/**
 * Every Redis key of the proxy, built here and nowhere else. Each key carries a
 * Redis Cluster hash tag (`{…}`), so that every script touches one slot
 * (the store's keys first; the limits', webhooks' and tracer's at the end):
 * - `{s}`: all subscription state (client hashes, topic sets, the active set,
 *   the change log), so subscribe/unsubscribe stay atomic in one script;
 * - `{t:<topic>}`: everything of one topic (its stream, message bodies and
 *   receipts, client cursors, publish fingerprints), so recording an arrival
 *   and appending its event is one script, and topics spread over the cluster.
 * Topics and ids are escaped so that no name can end a tag early or collide
 * with another key. Types, TTLs and writers: ./README.md.
 */

/** `{`, `}` end hash tags, `:` separates key parts, `%` escapes: none may appear raw in a name. */
export function escape(name: string): string {
  return name.replace(/[%{}:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
}

/** Names inside the limits' and webhooks' keys are base64url: no tag end, no separator, no collision. */
const b64 = (s: string): string => Buffer.from(s).toString('base64url')

export class StoreKeys {
  constructor(readonly prefix: string) {}

  /** Hash client → threshold (string) per topic. */
  clientTopics(clientId: string): string {
    return `${this.prefix}{s}:client:${escape(clientId)}`
  }

  /** Set of client ids subscribed to the topic. */
  topicClients(topic: string): string {
    return `${this.prefix}{s}:topic:${escape(topic)}`
  }

  /** Set of topics with at least one subscriber. */
  activeTopics(): string {
    return `${this.prefix}{s}:active`
  }

  /** Set of client ids with at least one subscription. */
  clients(): string {
    return `${this.prefix}{s}:clients`
  }

  /** Capped stream of subscription changes (fields c = client, t = topic, o = op, p = previous id). */
  subscriptionChanges(): string {
    return `${this.prefix}{s}:changes`
  }

  /** Capped stream of "message m reached c nodes" events (fields m, c, p = previous id). */
  topicStream(topic: string): string {
    return `${this.topicTag(topic)}:stream`
  }

  /** Hash: d = body, s = source, n:<node> = 1 per node that holds it, c = node count. TTL = message TTL. */
  message(topic: string, messageId: string): string {
    return `${this.topicTag(topic)}:msg:${escape(messageId)}`
  }

  /** Hash client id → cursor in the topic's stream. */
  cursors(topic: string): string {
    return `${this.topicTag(topic)}:cursors`
  }

  /** String set once per publish fingerprint, with a TTL. */
  publishFingerprint(topic: string, fingerprint: string): string {
    return `${this.topicTag(topic)}:pub:${escape(fingerprint)}`
  }

  private topicTag(topic: string): string {
    return `${this.prefix}{t:${escape(topic)}}`
  }
}

/**
 * The keys of client limits (proxy/auth). Every key of one client carries the hash tag
 * `{auth:<id>}`, so the admission script touches one Cluster slot; the id is
 * base64url-encoded, so no name can end the tag early or collide. Each counter
 * covers one fixed window and expires with it.
 */
export class AuthKeys {
  constructor(readonly prefix: string) {}

  /** Publishes in the second `window` (ms since epoch ÷ 1000). */
  publishesInSecond(clientId: string, window: number): string {
    return `${this.clientTag(clientId)}:pub:s:${window}`
  }

  /** Publishes in the hour `window`. */
  publishesInHour(clientId: string, window: number): string {
    return `${this.clientTag(clientId)}:pub:h:${window}`
  }

  /** Bytes published on UTC day `window`. */
  bytesOnDay(clientId: string, window: number): string {
    return `${this.clientTag(clientId)}:bytes:d:${window}`
  }

  private clientTag(clientId: string): string {
    return `${this.prefix}{auth:${b64(clientId)}}`
  }
}

/**
 * The keys of webhooks (proxy/webhooks), all in the hash tag `{wh}` (one
 * Cluster slot: the registry is read whole). Names inside keys are base64url-encoded.
 */
export class WebhookKeys {
  constructor(readonly prefix: string) {}

  /** Hash: field `<client>:<topic>` (encoded) → JSON WebhookTarget. */
  targets(): string {
    return `${this.prefix}{wh}:targets`
  }

  /** Field of `targets` and `counts` for one subscription. */
  field(clientId: string, topic: string): string {
    return `${b64(clientId)}:${b64(topic)}`
  }

  /** String: the replica that delivers this client's webhooks, with a TTL (the lease). */
  lease(clientId: string): string {
    return `${this.prefix}{wh}:lease:${b64(clientId)}`
  }

  /** Hash: `<field>:delivered` / `<field>:failed` → counts. */
  counts(): string {
    return `${this.prefix}{wh}:counts`
  }

  /** Capped list of the latest failed deliveries (JSON), newest first. */
  failures(): string {
    return `${this.prefix}{wh}:failures`
  }
}

/**
 * The tracer's keys (proxy/tracer): the proxy prefix, one hash tag, escaped
 * names. All of them share the tag `{tr}`, so the merge script touches one
 * slot on a Redis Cluster; the tracer's load is a dashboard's, one slot
 * carries it.
 */
export class TracerKeys {
  constructor(readonly prefix: string) {}

  /** Hash of one traced message (fields: ../tracer/README.md). TTL: the longest window. */
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

/** BullMQ's key prefix for the durable publish queue: BullMQ builds the keys under it, all in the tag `{q}`. */
export function publishQueuePrefix(prefix: string): string {
  return `${prefix}{q}`
}
