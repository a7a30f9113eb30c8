import { invalid, requireBytes } from './errors.js'

/**
 * One coded shard: payload = Σ coefficients[i] · fragment[i] over GF(2^8).
 * Any k shards with independent coefficient vectors decode the message.
 */
export interface CodedShard {
  /** Length k, one coefficient per fragment; never all zero when made here. */
  readonly coefficients: Uint8Array
  /** Length shardLength. */
  readonly payload: Uint8Array
}

/** Most shards one encode or recode call makes: the caller holds them all in memory. */
export const MAX_SHARDS_PER_CALL = 65535

export function checkCoefficients(coefficients: unknown, k: number): asserts coefficients is Uint8Array {
  requireBytes(coefficients, 'shard coefficients')
  if (coefficients.length !== k) throw invalid(`shard coefficients must have length k=${k}, got ${coefficients.length}`)
}

/** Throws unless `shard` has k coefficients and a payload of shardLength bytes. */
export function checkShard(shard: unknown, k: number, shardLength: number): asserts shard is CodedShard {
  if (typeof shard !== 'object' || shard === null) throw invalid('a shard must be an object with coefficients and payload')
  const { coefficients, payload } = shard as Record<string, unknown>
  checkCoefficients(coefficients, k)
  requireBytes(payload, 'shard payload')
  if (payload.length !== shardLength) {
    throw invalid(`shard payload must have length ${shardLength}, got ${payload.length}`)
  }
}
