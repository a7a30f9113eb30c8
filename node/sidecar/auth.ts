import { readClaims } from '../../common/auth/claims.js'
import type { JwtVerifier } from '../../common/auth/jwt-verifier.js'
import { OptimumError } from '../../common/errors.js'

/** Tokens remembered as verified, so that a client sending the same token on every request costs one signature check. */
const CACHE_ENTRIES = 1024
/** Longer tokens are refused unread: a request may carry megabytes, the cache must not hold them. */
export const MAX_TOKEN_CHARS = 16_384
/** How long a verified token is trusted without a new check: a key dropped from the JWKS stops counting after this. */
const CACHE_MS = 60_000

/**
 * SIDECAR_AUTH=true: a sidecar request needs a JWT that verifies (signature
 * against the provider's JWKS, times, issuer, audience; common/auth) and
 * whose client is active. The node has no client ids, so the token's client
 * is not matched against anything, and the limits it carries are the proxy's
 * business. Refusals are OptimumErrors: `unauthenticated` (no token, invalid
 * token), `permission_denied` (inactive), `unavailable` (JWKS unreachable).
 */
export class SidecarAuth {
  /** Token → until when (ms) it stays accepted; insertion order is age order. */
  private readonly accepted = new Map<string, number>()

  constructor(
    private readonly verifier: Pick<JwtVerifier, 'verify'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when `token` may act; `missing` is the sentence for an absent token (it says where to put one). */
  async check(token: string | undefined, missing: string): Promise<void> {
    if (token === undefined || token === '') throw new OptimumError('unauthenticated', missing)
    if (token.length > MAX_TOKEN_CHARS) throw new OptimumError('unauthenticated', `invalid token: longer than ${MAX_TOKEN_CHARS} characters`)
    const now = this.now()
    const until = this.accepted.get(token)
    if (until !== undefined && now < until) return
    this.accepted.delete(token)
    const payload = await this.verifier.verify(token)
    readClaims(payload)
    if (typeof payload.exp !== 'number') return
    if (this.accepted.size >= CACHE_ENTRIES) this.accepted.delete(this.accepted.keys().next().value!)
    this.accepted.set(token, Math.min(payload.exp * 1000, now + CACHE_MS))
  }
}
