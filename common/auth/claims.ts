import type { JWTPayload } from 'jose'
import { OptimumError } from '../errors.js'

/** What a verified token says about its client. */
export interface ClientClaims {
  /** `client_id`, else `sub`. */
  clientId: string
  limits: ClientLimits
}

export interface ClientLimits {
  publishPerSecond: number
  publishPerHour: number
  /** Bytes. */
  maxMessageSize: number
  /** Bytes published per UTC day. */
  dailyQuota: number
}

const MB = 1024 * 1024

/** mump2p-cli's defaults for tokens that carry no limits. */
export const DEFAULT_LIMITS: Readonly<ClientLimits> = {
  publishPerSecond: 2,
  publishPerHour: 100,
  maxMessageSize: 2 * MB,
  dailyQuota: 100 * MB,
}

const LIMIT_CLAIMS: ReadonlyArray<[keyof ClientLimits, string]> = [
  ['publishPerSecond', 'max_publish_per_sec'],
  ['publishPerHour', 'max_publish_per_hour'],
  ['maxMessageSize', 'max_message_size'],
  ['dailyQuota', 'daily_quota'],
]

/** Numbers arrive as JSON numbers or, from some issuers' rules, as strings. */
function limitValue(payload: JWTPayload, claim: string, fallback: number): number {
  const raw = payload[claim]
  if (raw === undefined || raw === null) return fallback
  const value = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OptimumError('unauthenticated', `token claim ${claim} must be a whole number ≥ 0`)
  }
  return value
}

/**
 * The claims of a verified token, checked: an identity, `is_active` true (the
 * boolean or the string "true", as tokens are issued in practice), limits or
 * their defaults.
 */
export function readClaims(payload: JWTPayload): ClientClaims {
  const id = typeof payload.client_id === 'string' && payload.client_id !== '' ? payload.client_id : payload.sub
  if (typeof id !== 'string' || id === '') throw new OptimumError('unauthenticated', 'token has neither client_id nor sub')
  if (payload.is_active !== true && payload.is_active !== 'true') throw new OptimumError('permission_denied', `client ${id} is not active (token claim is_active)`)
  const limits = { ...DEFAULT_LIMITS }
  for (const [field, claim] of LIMIT_CLAIMS) limits[field] = limitValue(payload, claim, DEFAULT_LIMITS[field])
  return { clientId: id, limits }
}

/** The token of an `Authorization: Bearer …` value; undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
  return match?.[1]
}
