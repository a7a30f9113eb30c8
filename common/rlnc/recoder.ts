import { MUL } from './gf256.js'
import type { Kernel } from './kernel.js'
import { fillNonZero, type RandomBytes } from './random.js'
import type { CodedShard } from './shard.js'

/** Coded rows someone holds (the decoder): coefficient vectors in JS, payloads in the kernel's heap. */
export interface HeldRows {
  readonly kernel: Kernel
  readonly k: number
  readonly shardLength: number
  /** How many rows; they must be linearly independent. */
  readonly count: number
  /** Row r's coefficient vector at [r·k, (r + 1)·k). */
  readonly coefficients: Uint8Array
  /** Row r's payload address. */
  readonly payloads: Uint32Array
}

/**
 * `count` fresh shards, each a random combination of all held rows, computed
 * without decoding. Every mixing factor is in 1..255 so every held row
 * contributes; with independent rows that also makes the coefficient vector
 * non-zero.
 */
export function recode(rows: HeldRows, count: number, random: RandomBytes): CodedShard[] {
  const { k, count: n } = rows
  const mixes = new Uint8Array(count * n)
  fillNonZero(mixes, random)
  const shards: CodedShard[] = []
  for (let j = 0; j < count; j++) {
    const mix = mixes.subarray(j * n, (j + 1) * n)
    const coefficients = new Uint8Array(k)
    for (let r = 0; r < n; r++) {
      const scale = mix[r] << 8
      for (let i = 0, at = r * k; i < k; i++, at++) coefficients[i] ^= MUL[scale | rows.coefficients[at]]
    }
    const payload = new Uint8Array(rows.shardLength)
    rows.kernel.combineInto(payload, rows.payloads, mix, n)
    shards.push({ coefficients, payload })
  }
  return shards
}
