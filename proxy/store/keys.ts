/**
 * Every Redis key of the proxy, built here and nowhere else. Each key carries a
 * Redis Cluster hash tag (`{…}`), so that every script touches one slot:
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
