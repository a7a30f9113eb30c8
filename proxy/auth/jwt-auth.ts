import { OptimumError } from '../../common/errors.js'
import type { AuthRequest, ClientAuth } from '../service/auth.js'
import { bearerToken, readClaims } from '../../common/auth/claims.js'
import type { JwtVerifier } from '../../common/auth/jwt-verifier.js'
import type { PublishLimiter } from './publish-limiter.js'

/**
 * ENABLE_AUTH=true: every request carries a Bearer JWT that verifies, names
 * the request's client (`client_id`, else `sub`), is active, and — for a
 * publish — stays within the limits it carries, counted cluster-wide.
 */
export class JwtClientAuth implements ClientAuth {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly limiter: PublishLimiter,
    /** The clock of the limit windows (tests pin it). */
    private readonly now: () => number = Date.now,
  ) {}

  async check(request: AuthRequest): Promise<void> {
    const token = bearerToken(request.authorization)
    if (!token) throw new OptimumError('unauthenticated', 'missing bearer token: send Authorization: Bearer <JWT>')
    const claims = readClaims(await this.verifier.verify(token))
    if (claims.clientId !== request.clientId) {
      throw new OptimumError('permission_denied', `the token is for client ${claims.clientId}, not ${request.clientId}`)
    }
    if (request.publishBytes !== undefined) await this.limiter.admit(claims.clientId, claims.limits, request.publishBytes, this.now())
  }
}
