import type { AuthProviderConfig } from '../config/index.js'
import type { JwtVerifierOptions } from './jwt-verifier.js'

/**
 * Where tokens are checked: Auth0's conventions for AUTH0_DOMAIN, unless
 * AUTH_JWKS_URL / AUTH_ISSUER name another provider. Call only with auth on
 * (ENABLE_AUTH, SIDECAR_AUTH: the config parser guarantees the values are then there).
 */
export function verifierOptions(config: AuthProviderConfig): JwtVerifierOptions {
  const domain = config.auth0Domain
  const jwksUrl = config.authJwksUrl ?? (domain && `https://${domain}/.well-known/jwks.json`)
  const issuer = config.authIssuer ?? (domain && `https://${domain}/`)
  if (!jwksUrl || !issuer || !config.auth0Audience) throw new Error('auth settings are incomplete: the config parser should have refused them')
  return { jwksUrl, issuer, audience: config.auth0Audience }
}
