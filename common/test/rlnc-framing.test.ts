import { describe, expect, it } from 'vitest'
import { RlncError } from '../rlnc/errors.js'
import { PREFIX_BYTES, copyFrameSlice, shardLengthFor, unframe } from '../rlnc/framing.js'

/** The whole frame of `message` for k fragments, assembled from copyFrameSlice in uneven pieces. */
function frame(message: Uint8Array, k: number): Uint8Array {
  const framed = new Uint8Array(k * shardLengthFor(message.length, k)).fill(0xee)
  for (let from = 0, step = 1; from < framed.length; from += step, step = (step * 3) % 7 + 1) {
    const len = Math.min(step, framed.length - from)
    copyFrameSlice(message, from, len, framed, from)
  }
  return framed
}

/** unframe over a contiguous frame, cut into its k fragments. */
function unframeBytes(framed: Uint8Array, k: number): Uint8Array {
  const len = framed.length / k
  return unframe(k, len, (i) => framed.subarray(i * len, (i + 1) * len))
}

describe('framing', () => {
  it('prefixes the length big-endian and pads with zeros to k fragments', () => {
    const message = Uint8Array.from([1, 2, 3, 4, 5])
    expect(shardLengthFor(5, 4)).toBe(3)
    expect(frame(message, 4)).toEqual(Uint8Array.from([0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0]))
    expect(frame(new Uint8Array(0x010203), 1).subarray(0, 4)).toEqual(Uint8Array.from([0, 1, 2, 3]))
  })

  it('allows the empty message: a frame of just the length', () => {
    expect(shardLengthFor(0, 1)).toBe(4)
    expect(shardLengthFor(0, 8)).toBe(1)
    const framed = frame(new Uint8Array(0), 8)
    expect(framed).toEqual(new Uint8Array(8))
    expect(unframeBytes(framed, 8)).toEqual(new Uint8Array(0))
  })

  it('round-trips lengths that k does not divide, and fragments shorter than the prefix', () => {
    for (const k of [1, 2, 3, 4, 7, 16, 64, 255]) {
      for (const size of [0, 1, 2, 3, 5, 17, 100, 1000, 4093]) {
        const message = Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) & 0xff)
        const framed = frame(message, k)
        expect(framed.length).toBe(k * Math.ceil((size + PREFIX_BYTES) / k))
        expect(unframeBytes(framed, k)).toEqual(message)
      }
    }
  })

  it('rejects frames that no encoder could have made', () => {
    const framed = frame(Uint8Array.from([9, 9, 9]), 2) // length 3, 2 fragments of 4
    const corrupt = (mutate: (f: Uint8Array) => void): Uint8Array => {
      const copy = framed.slice()
      mutate(copy)
      return copy
    }
    expect(() => unframeBytes(corrupt((f) => (f[3] = 5)), 2)).toThrow(/does not fit/) // longer than the frame
    expect(() => unframeBytes(corrupt((f) => (f[3] = 1)), 2)).toThrow(/does not fit/) // would need shorter fragments
    expect(() => unframeBytes(corrupt((f) => (f[0] = 0x80)), 2)).toThrow(RlncError)
    expect(() => unframeBytes(corrupt((f) => (f[7] = 1)), 2)).toThrow(/non-zero padding/)
    expect(() => unframeBytes(new Uint8Array(2), 1)).toThrow(/cannot hold a length/)
  })

  it('validates its inputs', () => {
    for (const k of [0, 256, 1.5, Number.NaN, -1, '4']) {
      expect(() => shardLengthFor(10, k as number)).toThrow(/k must be an integer in 1\.\.255/)
    }
    for (const length of [-1, 0.5, Number.NaN, 2 ** 32]) {
      expect(() => shardLengthFor(length, 4)).toThrow(/message length/)
    }
  })
})
