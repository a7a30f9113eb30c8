import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { crc64Iso, crc64IsoUpdate } from '../identity/crc64.js'

/** Bit-at-a-time CRC-64/GO-ISO straight from the definition, for comparison. */
function slowCrc64Iso(data: Uint8Array): bigint {
  const poly = 0xd800000000000000n
  const mask = 0xffffffffffffffffn
  let crc = mask
  for (const byte of data) {
    crc ^= BigInt(byte)
    for (let bit = 0; bit < 8; bit++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n
  }
  return crc ^ mask
}

const ascii = (s: string) => new TextEncoder().encode(s)

describe('crc64Iso (Go crc64.ISO)', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(crc64Iso(ascii('123456789'))).toBe(0xb90956c775a41001n)
    expect(slowCrc64Iso(ascii('123456789'))).toBe(0xb90956c775a41001n)
  })

  it('gives 0 for the empty input', () => {
    expect(crc64Iso(new Uint8Array())).toBe(0n)
  })

  it('matches known values from Go', () => {
    // Go: crc64.Checksum([]byte(s), crc64.MakeTable(crc64.ISO)), from hash/crc64's golden table.
    expect(crc64Iso(ascii('a'))).toBe(0x3420000000000000n)
    expect(crc64Iso(ascii('ab'))).toBe(0x36c4200000000000n)
    expect(crc64Iso(ascii('abc'))).toBe(0x3776c42000000000n)
    expect(crc64Iso(ascii('abcd'))).toBe(0x336776c420000000n)
  })

  it('agrees with a bitwise reference on random data of many lengths', () => {
    for (const length of [1, 2, 7, 8, 9, 63, 64, 65, 255, 256, 1000, 4096]) {
      const data = randomBytes(length)
      expect(crc64Iso(data), `length ${length}`).toBe(slowCrc64Iso(data))
    }
    for (const byte of [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]) {
      expect(crc64Iso(Uint8Array.of(byte))).toBe(slowCrc64Iso(Uint8Array.of(byte)))
    }
  })

  it('continues a checksum over split input like Go crc64.Update', () => {
    const data = randomBytes(777)
    for (const split of [0, 1, 8, 100, 776, 777]) {
      expect(crc64IsoUpdate(crc64Iso(data.subarray(0, split)), data.subarray(split))).toBe(crc64Iso(data))
    }
  })

  it('checksums a 1 MiB file the same in one go and in 64 KiB pieces', () => {
    const data = randomBytes(1 << 20)
    let crc = crc64Iso(new Uint8Array(0))
    for (let at = 0; at < data.length; at += 1 << 16) crc = crc64IsoUpdate(crc, data.subarray(at, at + (1 << 16)))
    expect(crc).toBe(crc64Iso(data))
  })
})
