/**
 * CRC-64 as Go computes it with `crc64.Checksum(data, crc64.MakeTable(crc64.ISO))`
 * (the catalogue name is CRC-64/GO-ISO): polynomial x^64 + x^4 + x^3 + x + 1
 * (0x1B) in reflected form 0xD800000000000000, initial value all ones, input
 * and output reflected, final XOR all ones. Check value: "123456789" →
 * 0xB90956C775A41001; the empty input → 0.
 *
 * The 64-bit register is kept as two unsigned 32-bit halves so the inner loop
 * runs on plain numbers; the result is returned as a bigint.
 */

const POLY_HI = 0xd8000000 // 0xD800000000000000 = hi:lo = 0xD8000000:0x00000000
const POLY_LO = 0x00000000

/** Byte-at-a-time table for the reflected polynomial, split into high and low halves. */
const TABLE_HI = new Uint32Array(256)
const TABLE_LO = new Uint32Array(256)

for (let i = 0; i < 256; i++) {
  let hi = 0
  let lo = i
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1
    // 64-bit shift right by one
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0
    hi = hi >>> 1
    if (carry) {
      hi = (hi ^ POLY_HI) >>> 0
      lo = (lo ^ POLY_LO) >>> 0
    }
  }
  TABLE_HI[i] = hi
  TABLE_LO[i] = lo
}

const MASK_32 = 0xffffffffn

/**
 * Go's `crc64.Update(crc, isoTable, data)`: continues a checksum over more
 * data. `crc64Iso(a ++ b) === crc64IsoUpdate(crc64Iso(a), b)`.
 */
export function crc64IsoUpdate(crc: bigint, data: Uint8Array): bigint {
  // Go inverts the register on the way in and on the way out.
  let hi = Number((~crc >> 32n) & MASK_32) >>> 0
  let lo = Number(~crc & MASK_32) >>> 0
  for (let i = 0; i < data.length; i++) {
    const index = (lo ^ data[i]!) & 0xff
    // 64-bit shift right by eight, then XOR the table entry
    lo = (((lo >>> 8) | (hi << 24)) ^ TABLE_LO[index]!) >>> 0
    hi = ((hi >>> 8) ^ TABLE_HI[index]!) >>> 0
  }
  return ((BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0)) & 0xffffffffffffffffn
}

/** CRC-64/GO-ISO of `data` (Go: `crc64.Checksum(data, crc64.MakeTable(crc64.ISO))`). */
export function crc64Iso(data: Uint8Array): bigint {
  return crc64IsoUpdate(0n, data)
}
