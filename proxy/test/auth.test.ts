import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isOptimumError } from '../../common/errors.js'
import { DEFAULT_LIMITS, readClaims } from '../../common/auth/claims.js'
import { LimitExceededError } from '../auth/errors.js'
import { JwtClientAuth } from '../auth/jwt-auth.js'
import { JwtVerifier } from '../../common/auth/jwt-verifier.js'
import { PublishLimiter } from '../auth/publish-limiter.js'
import { verifierOptions } from '../../common/auth/provider.js'
import { HTTP_STATUS_BY_CODE } from '../http/status.js'
import type { AuthRequest } from '../service/auth.js'
import { LOCAL_REDIS as TEST_REDIS_URL, removePrefix } from './support/store.js'
import { JwksServer, signingKey, signToken, type SigningKey, type TokenOptions } from '../../common/test/support/jwks.js'

const AUDIENCE = 'https://optimum.test/api'
const prefix = `test:partners:auth:${randomBytes(4).toString('hex')}:`
const jwks = new JwksServer()
const redisClients: Redis[] = []
let key: SigningKey
/** Two replicas: own verifier, own Redis connection, one prefix. */
let replicas: [JwtClientAuth, JwtClientAuth]
/** Limit windows are pinned mid-second so that no test straddles a window boundary. */
const clock = () => Math.floor(Date.now() / 1000) * 1000 + 500

function replica(): JwtClientAuth {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })
  redisClients.push(redis)
  const verifier = new JwtVerifier({ jwksUrl: jwks.url, issuer: jwks.issuer, audience: AUDIENCE, refetchCooldownMs: 0 })
  return new JwtClientAuth(verifier, new PublishLimiter(redis, prefix), clock)
}

function token(claims: Record<string, unknown>, options: Partial<TokenOptions> = {}): Promise<string> {
  return signToken({ key, issuer: jwks.issuer, audience: AUDIENCE, claims, ...options })
}

/** The HTTP status and message an edge would answer for this request; 200 when admitted. */
async function answer(auth: JwtClientAuth, request: AuthRequest): Promise<{ status: number; error?: string; retryAfter?: number }> {
  try {
    await auth.check(request)
    return { status: 200 }
  } catch (err) {
    if (!isOptimumError(err)) throw err
    return {
      status: HTTP_STATUS_BY_CODE[err.code],
      error: err.message,
      ...(err instanceof LimitExceededError && err.retryAfterSeconds !== undefined ? { retryAfter: err.retryAfterSeconds } : {}),
    }
  }
}

const bearer = (jwt: string) => `Bearer ${jwt}`

beforeAll(async () => {
  await jwks.start()
  key = await signingKey('key-1')
  jwks.published = [key]
  replicas = [replica(), replica()]
})

afterAll(async () => {
  await jwks.stop()
  for (const redis of redisClients) redis.disconnect()
  await removePrefix(TEST_REDIS_URL, prefix)
})

describe('claims', () => {
  it('takes client_id, else sub; limits as numbers or digit strings; defaults when absent', () => {
    expect(readClaims({ sub: 'auth0|1', client_id: 'c1', is_active: true }).clientId).toBe('c1')
    expect(readClaims({ sub: 'auth0|1', is_active: 'true' }).clientId).toBe('auth0|1')
    expect(readClaims({ sub: 's', is_active: true }).limits).toEqual(DEFAULT_LIMITS)
    expect(readClaims({ sub: 's', is_active: true, max_publish_per_sec: '7', daily_quota: 10 }).limits).toMatchObject({ publishPerSecond: 7, dailyQuota: 10 })
    expect(() => readClaims({ sub: 's', is_active: true, max_message_size: -1 })).toThrow(/max_message_size/)
    expect(() => readClaims({ is_active: true })).toThrow(/neither client_id nor sub/)
  })
})

describe('JWT checks', () => {
  const publish = async (jwt: string | undefined, clientId = 'alice') =>
    answer(replicas[0], { clientId, publishBytes: 10, ...(jwt ? { authorization: bearer(jwt) } : {}) })

  it('admits a valid token for its own client', async () => {
    expect(await publish(await token({ client_id: 'alice', max_publish_per_sec: 1000, max_publish_per_hour: 1000 }))).toEqual({ status: 200 })
  })

  const cases: Array<[string, () => Promise<string | undefined>, number, RegExp]> = [
    ['no token', async () => undefined, 401, /missing bearer token/],
    ['expired', () => token({ client_id: 'alice' }, { expiresIn: -60 }), 401, /expired/],
    ['not yet valid', () => token({ client_id: 'alice' }, { notBefore: 600 }), 401, /not yet valid/],
    ['wrong issuer', () => token({ client_id: 'alice' }, { issuer: 'https://other.example/' }), 401, /wrong issuer/],
    ['wrong audience', () => token({ client_id: 'alice' }, { audience: 'https://other.example/api' }), 401, /wrong audience/],
    ['client_id mismatch', () => token({ client_id: 'mallory' }), 403, /for client mallory, not alice/],
    ['sub mismatch', () => token({ sub: 'mallory' }), 403, /for client mallory, not alice/],
    ['inactive (false)', () => token({ client_id: 'alice', is_active: false }), 403, /not active/],
    ['inactive ("false")', () => token({ client_id: 'alice', is_active: 'false' }), 403, /not active/],
    ['inactive (absent)', () => token({ client_id: 'alice', is_active: undefined }), 403, /not active/],
  ]
  it.each(cases)('%s → %i', async (_case, make, status, error) => {
    const result = await publish(await make())
    expect(result.status).toBe(status)
    expect(result.error).toMatch(error)
  })

  it('refuses a forged signature (same kid, another private key)', async () => {
    const forger = await signingKey('key-1')
    const result = await publish(await token({ client_id: 'alice' }, { key: forger }))
    expect(result).toMatchObject({ status: 401, error: expect.stringMatching(/signature does not verify/) })
  })

  it('refuses HMAC and unsigned tokens (only RS256/384/512)', async () => {
    const hmac = await new SignJWT({ client_id: 'alice', is_active: true })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .setIssuer(jwks.issuer).setAudience(AUDIENCE).setExpirationTime('1h')
      .sign(new TextEncoder().encode('a shared secret of at least 32 bytes!'))
    expect(await publish(hmac)).toMatchObject({ status: 401, error: expect.stringMatching(/algorithm not accepted/) })
    const unsigned = new UnsecuredJWT({ client_id: 'alice', is_active: true }).setIssuer(jwks.issuer).setAudience(AUDIENCE).setExpirationTime('1h').encode()
    expect((await publish(unsigned)).status).toBe(401)
  })

  it('accepts RS384 and RS512 keys', async () => {
    for (const alg of ['RS384', 'RS512']) {
      const other = await signingKey(`key-${alg}`, alg)
      jwks.published = [key, other]
      expect(await publish(await token({ client_id: 'alice', max_publish_per_sec: 1000, max_publish_per_hour: 1000 }, { key: other, alg }))).toEqual({ status: 200 })
    }
    jwks.published = [key]
  })

  it('refuses a garbage token and a non-Bearer header', async () => {
    expect(await publish('not.a.jwt')).toMatchObject({ status: 401, error: expect.stringMatching(/malformed/) })
    expect(await answer(replicas[0], { clientId: 'alice', authorization: 'Basic YWxpY2U6cHc=' })).toMatchObject({ status: 401 })
  })

  it('picks up a rotated key and drops the retired one', async () => {
    const next = await signingKey('key-2')
    const withNext = await token({ client_id: 'alice' }, { key: next })
    expect(await publish(withNext)).toMatchObject({ status: 401, error: expect.stringMatching(/key the issuer does not publish/) })
    const old = key
    jwks.published = [next]
    key = next
    try {
      expect(await answer(replicas[1], { clientId: 'alice', authorization: bearer(withNext) })).toEqual({ status: 200 })
      expect(await answer(replicas[1], { clientId: 'alice', authorization: bearer(await token({ client_id: 'alice' }, { key: old })) })).toMatchObject({ status: 401 })
    } finally {
      jwks.published = [old, next]
      key = old
    }
  })

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    const verifier = new JwtVerifier({ jwksUrl: 'http://127.0.0.1:9/jwks.json', issuer: jwks.issuer, audience: AUDIENCE })
    const auth = new JwtClientAuth(verifier, new PublishLimiter(redisClients[0]!, prefix), clock)
    expect(await answer(auth, { clientId: 'alice', authorization: bearer(await token({ client_id: 'alice' })) })).toMatchObject({ status: 503 })
  })
})

describe('limits across replicas sharing Redis', () => {
  /** Publishes alternate between the two replicas, so a per-replica counter would admit them all. */
  async function alternate(clientId: string, claims: Record<string, unknown>, sizes: number[]) {
    const jwt = await token({ client_id: clientId, ...claims })
    const results = []
    for (const [i, bytes] of sizes.entries()) {
      results.push(await answer(replicas[i % 2]!, { clientId, authorization: bearer(jwt), publishBytes: bytes }))
    }
    return results
  }

  it('max_publish_per_sec', async () => {
    const results = await alternate('rate-sec', { max_publish_per_sec: 2, max_publish_per_hour: 100 }, [1, 1, 1, 1])
    expect(results.map((r) => r.status)).toEqual([200, 200, 429, 429])
    expect(results[2]).toMatchObject({ retryAfter: 1, error: expect.stringMatching(/max_publish_per_sec/) })
  })

  it('max_publish_per_hour', async () => {
    const results = await alternate('rate-hour', { max_publish_per_sec: 100, max_publish_per_hour: 3 }, [1, 1, 1, 1])
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429])
    expect(results[3]!.error).toMatch(/max_publish_per_hour/)
    expect(results[3]!.retryAfter).toBeGreaterThanOrEqual(1)
    expect(results[3]!.retryAfter).toBeLessThanOrEqual(3600)
  })

  it('daily_quota (bytes), and a refused publish counts nothing', async () => {
    const results = await alternate('quota', { max_publish_per_sec: 100, max_publish_per_hour: 100, daily_quota: 1000 }, [600, 600, 400, 1])
    expect(results.map((r) => r.status)).toEqual([200, 429, 200, 429])
    expect(results[1]!.error).toMatch(/daily_quota/)
    expect(results[1]!.retryAfter).toBeLessThanOrEqual(86_400)
  })

  it('max_message_size → 413 naming the limit', async () => {
    const results = await alternate('size', { max_message_size: 100 }, [100, 101])
    expect(results[0]!.status).toBe(200)
    expect(results[1]).toMatchObject({ status: 413, error: expect.stringMatching(/max_message_size/) })
  })

  it('defaults (2/s) apply to a token without limits', async () => {
    const results = await alternate('defaults', {}, [1, 1, 1])
    expect(results.map((r) => r.status)).toEqual([200, 200, 429])
  })

  it('checks other than publishes (subscribe, WebSocket) count nothing', async () => {
    const jwt = await token({ client_id: 'reader', max_publish_per_sec: 1 })
    for (let i = 0; i < 4; i++) expect(await answer(replicas[i % 2]!, { clientId: 'reader', authorization: bearer(jwt) })).toEqual({ status: 200 })
  })

  it('Redis down → 503', async () => {
    const down = new Redis('redis://127.0.0.1:9', { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null })
    down.on('error', () => {})
    const verifier = new JwtVerifier({ jwksUrl: jwks.url, issuer: jwks.issuer, audience: AUDIENCE })
    const auth = new JwtClientAuth(verifier, new PublishLimiter(down, prefix), clock)
    const jwt = await token({ client_id: 'alice' })
    expect(await answer(auth, { clientId: 'alice', authorization: bearer(jwt), publishBytes: 1 })).toMatchObject({ status: 503, error: expect.stringMatching(/publish limits/) })
    down.disconnect()
  })
})

describe('provider settings', () => {
  it("follows Auth0's conventions unless AUTH_JWKS_URL / AUTH_ISSUER override them", () => {
    expect(verifierOptions({ auth0Domain: 'tenant.us.auth0.com', auth0Audience: 'api' })).toEqual({
      jwksUrl: 'https://tenant.us.auth0.com/.well-known/jwks.json', issuer: 'https://tenant.us.auth0.com/', audience: 'api',
    })
    expect(verifierOptions({ auth0Audience: 'api', authJwksUrl: 'http://127.0.0.1:1/k', authIssuer: 'me' })).toEqual({ jwksUrl: 'http://127.0.0.1:1/k', issuer: 'me', audience: 'api' })
  })
})
