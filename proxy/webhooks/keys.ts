/**
 * The Redis keys of webhooks, under REDIS_PREFIX like the store's
 * (proxy/store/keys.ts), all in the hash tag `{wh}` (one Cluster slot: the
 * registry is read whole). Names inside keys are base64url-encoded.
 */
const b64 = (s: string) => Buffer.from(s).toString('base64url')

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
