/**
 * The Redis keys of client limits, under REDIS_PREFIX like the store's
 * (proxy/store/keys.ts). Every key of one client carries the hash tag
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
    return `${this.prefix}{auth:${Buffer.from(clientId).toString('base64url')}}`
  }
}
