/**
 * Arithmetic in GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d),
 * the field of Reed–Solomon and most RLNC libraries; 2 generates its
 * multiplicative group. Addition is xor. Everything here is a table built once
 * at import: the codec looks products up instead of computing them.
 */

import { invalid } from './errors.js'

export const POLYNOMIAL = 0x11d

/** EXP[i] = 2^i, doubled in length so EXP[LOG[a] + LOG[b]] needs no modulo. */
export const EXP = new Uint8Array(510)
/** LOG[a] = i with 2^i = a, for a ≠ 0 (LOG[0] is meaningless). */
export const LOG = new Uint8Array(256)
/** MUL[(a << 8) | b] = a·b: the row for a coefficient is MUL.subarray(a << 8, (a + 1) << 8). */
export const MUL = new Uint8Array(65536)
/** INV[a] = a^-1 for a ≠ 0; INV[0] = 0. */
export const INV = new Uint8Array(256)

{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    EXP[i + 255] = x
    LOG[x] = i
    x <<= 1
    if (x & 0x100) x ^= POLYNOMIAL
  }
  for (let a = 1; a < 256; a++) {
    INV[a] = EXP[255 - LOG[a]]
    for (let b = 1; b < 256; b++) MUL[(a << 8) | b] = EXP[LOG[a] + LOG[b]]
  }
}

/** a·b for field elements a, b in 0..255 (other numbers are not checked: this is the hot path). */
export function mul(a: number, b: number): number {
  return MUL[(a << 8) | b]
}

/** The multiplicative inverse; 0 has none. */
export function inv(a: number): number {
  if (!Number.isInteger(a) || a < 1 || a > 255) throw invalid(`GF(2^8) inverse of ${a}: only 1..255 have one`)
  return INV[a]
}
