import { OptimumError, type ErrorCode } from '../errors.js'

/**
 * Every error the codec throws on purpose. Bad input (including shards from a
 * misbehaving peer) is 'invalid_argument', so the protocol can score the
 * sender; a full heap is 'resource_exhausted'; a missing build is 'internal'.
 */
export class RlncError extends OptimumError {
  constructor(code: ErrorCode, message: string) {
    super(code, message)
    this.name = 'RlncError'
  }
}

export function invalid(message: string): RlncError {
  return new RlncError('invalid_argument', `rlnc: ${message}`)
}

export function requireBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`${what} must be a Uint8Array, got ${describe(value)}`)
}

/** k is carried in one byte on the wire and sizes the k×k coefficient matrix. */
export const MAX_K = 255

export function requireK(k: unknown): asserts k is number {
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > MAX_K) {
    throw invalid(`k must be an integer in 1..${MAX_K}, got ${describe(k)}`)
  }
}

export function requireCount(value: unknown, what: string, min: number, max: number): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(`${what} must be an integer in ${min}..${max}, got ${describe(value)}`)
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object'
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 20))}`
  return `${typeof value} ${String(value)}`
}
