import { describe, expect, it } from 'vitest'
import { EXP, INV, LOG, MUL, inv, mul, POLYNOMIAL } from '../rlnc/gf256.js'
import { RlncError } from '../rlnc/errors.js'

/** Carry-less shift-and-add multiply, reduced by 0x11d bit by bit: the definition, no tables. */
function slowMul(a: number, b: number): number {
  let result = 0
  while (b !== 0) {
    if (b & 1) result ^= a
    a <<= 1
    if (a & 0x100) a ^= 0x11d
    b >>= 1
  }
  return result
}

describe('GF(2^8) with polynomial 0x11d', () => {
  it('uses 0x11d', () => {
    expect(POLYNOMIAL).toBe(0x11d)
  })

  it('matches the slow reference multiply for all 65536 products', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        if (MUL[(a << 8) | b] !== slowMul(a, b)) throw new Error(`MUL[${a}][${b}] = ${MUL[(a << 8) | b]}, want ${slowMul(a, b)}`)
      }
    }
    expect(mul(0x53, 0xca)).toBe(slowMul(0x53, 0xca))
  })

  it('has the known vectors of 0x11d', () => {
    expect(mul(0x80, 2)).toBe(0x1d) // 2^8 = x^4 + x^3 + x^2 + 1
    expect(EXP.slice(0, 9)).toEqual(Uint8Array.from([1, 2, 4, 8, 16, 32, 64, 128, 0x1d]))
    expect(mul(3, 7)).toBe(9) // no reduction needed
    expect(mul(0xff, 0xff)).toBe(0xe2)
    expect(mul(0x53, 0xca)).toBe(0x8f)
    expect(mul(0x12, 0x34)).toBe(0x0f)
    expect(inv(2)).toBe(0x8e)
  })

  it('2 generates the multiplicative group (order 255) and LOG inverts EXP', () => {
    const seen = new Set<number>()
    for (let i = 0; i < 255; i++) {
      seen.add(EXP[i])
      expect(LOG[EXP[i]]).toBe(i)
      expect(EXP[i + 255]).toBe(EXP[i])
    }
    expect(seen.size).toBe(255)
    expect(seen.has(0)).toBe(false)
  })

  it('every non-zero element has an inverse, and 0 has none', () => {
    for (let a = 1; a < 256; a++) {
      expect(mul(a, inv(a))).toBe(1)
      expect(INV[a]).toBe(inv(a))
    }
    expect(() => inv(0)).toThrow(RlncError)
    expect(() => inv(256)).toThrow(/inverse/)
  })

  it('is a field: commutative, associative, distributive, 0 and 1', () => {
    const failures: string[] = []
    for (let a = 0; a < 256; a++) {
      if (mul(a, 0) !== 0 || mul(a, 1) !== a) failures.push(`identities at ${a}`)
      for (let b = 0; b < 256; b += 3) {
        if (mul(a, b) !== mul(b, a)) failures.push(`commutativity ${a} ${b}`)
        for (let c = 0; c < 256; c += 17) {
          if (mul(mul(a, b), c) !== mul(a, mul(b, c))) failures.push(`associativity ${a} ${b} ${c}`)
          if (mul(a, b ^ c) !== (mul(a, b) ^ mul(a, c))) failures.push(`distributivity ${a} ${b} ${c}`)
        }
      }
    }
    expect(failures).toEqual([])
  })
})
