import { RlncError } from './errors.js'

/** Fills `out` with uniformly random bytes. Codecs take one so tests can be deterministic. */
export type RandomBytes = (out: Uint8Array) => void

export interface CodecOptions {
  /** Source of coefficient randomness; crypto.getRandomValues by default. */
  random?: RandomBytes
}

/** crypto.getRandomValues, which fills at most 64 KiB per call. */
export const cryptoRandomBytes: RandomBytes = (out) => {
  for (let off = 0; off < out.length; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536) as Uint8Array<ArrayBuffer>)
}

/**
 * Fills `out` with bytes uniform over 1..255: one batch from `random`, then
 * zeros redrawn (rejection keeps the distribution uniform; ~1 in 256 bytes).
 */
export function fillNonZero(out: Uint8Array, random: RandomBytes): void {
  random(out)
  let spare = new Uint8Array(0)
  let next = 0
  for (let i = 0; i < out.length; i++) {
    while (out[i] === 0) {
      if (next === spare.length) {
        spare = new Uint8Array(64)
        random(spare)
        next = 0
        if (spare.every((b) => b === 0)) throw new RlncError('internal', 'rlnc: the random source returns only zeros')
      }
      out[i] = spare[next++]
    }
  }
}

/**
 * A reproducible byte stream (mulberry32) for simulations and tests, where the
 * same seed must give the same coefficients. Not for production: peers could
 * predict it.
 */
export function seededRandomBytes(seed: number): RandomBytes {
  let state = seed >>> 0
  return (out) => {
    for (let i = 0; i < out.length; i++) {
      state = (state + 0x6d2b79f5) >>> 0
      let t = state
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      out[i] = (t ^ (t >>> 14)) >>> 24
    }
  }
}
