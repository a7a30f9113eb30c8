import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import { OptimumError } from '../errors.js'

export interface JwtVerifierOptions {
  /** Where the signing keys are published (`https://AUTH0_DOMAIN/.well-known/jwks.json`). */
  jwksUrl: string
  /** The exact `iss` tokens must carry (`https://AUTH0_DOMAIN/`). */
  issuer: string
  /** The `aud` tokens must include (AUTH0_AUDIENCE). */
  audience: string
  /**
   * How long after a refetch an unknown `kid` may trigger another (ms); a
   * rotated key is picked up on the first token signed with it after that.
   * jose's default is 30 s.
   */
  refetchCooldownMs?: number
  /** How long a fetched key set is trusted before it is fetched again (ms); default 10 min. */
  cacheMaxAgeMs?: number
  /** Clock skew allowed on exp/nbf (seconds); default 5. */
  clockToleranceSeconds?: number
}

/** Auth0 signs with RS256; the other RSA sizes are accepted for other providers. Never `none` or HMAC. */
export const ALGORITHMS = ['RS256', 'RS384', 'RS512']

/**
 * Checks a JWT's signature against the provider's JWKS (fetched on demand,
 * cached, refetched when a token names a key it does not know), its time
 * window, issuer and audience. Refusals are OptimumErrors: `unauthenticated`
 * with the reason, or `unavailable` when the key set cannot be fetched.
 */
export class JwtVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>

  constructor(private readonly options: JwtVerifierOptions) {
    this.keys = createRemoteJWKSet(new URL(options.jwksUrl), {
      cooldownDuration: options.refetchCooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
      timeoutDuration: 5_000,
    })
  }

  async verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: this.options.clockToleranceSeconds ?? 5,
      })
      return payload
    } catch (err) {
      throw refusal(err)
    }
  }
}

function refusal(err: unknown): OptimumError {
  const unauthenticated = (why: string) => new OptimumError('unauthenticated', `invalid token: ${why}`)
  if (err instanceof errors.JWTExpired) return unauthenticated('expired')
  if (err instanceof errors.JWTClaimValidationFailed) {
    const why: Record<string, string> = { nbf: 'not yet valid', iss: 'wrong issuer', aud: 'wrong audience', iat: 'issued in the future' }
    return unauthenticated(why[err.claim] ?? `claim ${err.claim} ${err.reason}`)
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return unauthenticated('signature does not verify')
  if (err instanceof errors.JWKSNoMatchingKey) return unauthenticated('signed by a key the issuer does not publish')
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthenticated(`algorithm not accepted (use one of ${ALGORITHMS.join(', ')})`)
  // jose throws its base class (not a subclass) when the key set's HTTP answer is unusable, and fetch a TypeError.
  const keySetProblem = err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err instanceof TypeError || err?.constructor === errors.JOSEError
  if (keySetProblem) {
    return new OptimumError('unavailable', `cannot fetch the token signing keys: ${(err as Error).message}`)
  }
  if (err instanceof errors.JOSEError) return unauthenticated('malformed')
  return new OptimumError('unavailable', `cannot verify the token: ${err instanceof Error ? err.message : String(err)}`)
}
