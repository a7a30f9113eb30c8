import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'

export interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicJwk: Record<string, unknown>
}

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** A JWKS endpoint on 127.0.0.1 serving whichever keys the test publishes. */
export class JwksServer {
  published: SigningKey[] = []
  fetches = 0
  private server: http.Server | undefined

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/.well-known/jwks.json`
  }

  /** The issuer tokens of this server carry. */
  get issuer(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/`
  }

  async start(): Promise<void> {
    this.server = http.createServer((_req, res) => {
      this.fetches++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ keys: this.published.map((k) => k.publicJwk) }))
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve())
  }
}

export interface TokenOptions {
  key: SigningKey
  issuer: string
  audience: string
  claims?: JWTPayload
  /** Seconds from now; default 3600. */
  expiresIn?: number
  /** Seconds from now when the token starts to be valid. */
  notBefore?: number
  alg?: string
}

export function signToken(options: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT({ is_active: true, ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore)
  return jwt.sign(options.key.privateKey)
}
