import { beforeAll, describe, expect, it } from 'vitest'
import { Decoder, Encoder, loadKernel, RlncError, seededRandomBytes, shardLengthFor, type Kernel } from '../rlnc/index.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

function message(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  seededRandomBytes(size + 1)(bytes)
  return bytes
}

function decoderFor(data: Uint8Array, k: number): Decoder {
  const encoder = new Encoder(kernel, data, k, { random: seededRandomBytes(7) })
  const decoder = new Decoder(kernel, k, encoder.shardLength)
  for (const shard of encoder.encode(k + 2)) decoder.add(shard)
  encoder.dispose()
  return decoder
}

describe('Decoder.decodeInto', () => {
  it('writes the message into a pooled buffer and returns a view of its length', () => {
    const pool = new Uint8Array(1 << 16).fill(0xaa)
    for (const size of [0, 1, 100, 4093, 65000]) {
      const data = message(size)
      const decoder = decoderFor(data, 8)
      const out = decoder.decodeInto(pool)
      expect(out.buffer).toBe(pool.buffer)
      expect(out).toEqual(data)
      expect(decoder.decodeInto((length) => new Uint8Array(length + 3))).toEqual(data)
      decoder.dispose()
    }
  })

  it('refuses a target that is too small', () => {
    const decoder = decoderFor(message(1000), 4)
    expect(() => decoder.decodeInto(new Uint8Array(999))).toThrow(RlncError)
    decoder.dispose()
  })

  it('checks the frame before asking for the target', () => {
    const data = message(500)
    const k = 4
    const len = shardLengthFor(data.length, k)
    const decoder = new Decoder(kernel, k, len)
    // Unit vectors with forged payloads: a length prefix that does not fit.
    for (let i = 0; i < k; i++) {
      const coefficients = new Uint8Array(k)
      coefficients[i] = 1
      decoder.add({ coefficients, payload: new Uint8Array(len).fill(0xff) })
    }
    let asked = false
    expect(() => decoder.decodeInto(() => ((asked = true), new Uint8Array(len * k)))).toThrow(RlncError)
    expect(asked).toBe(false)
    decoder.dispose()
  })
})

describe('Decoder.matches', () => {
  it('tells honest shards from forged ones once complete', () => {
    const data = message(3000)
    const encoder = new Encoder(kernel, data, 5, { random: seededRandomBytes(3) })
    const decoder = new Decoder(kernel, 5, encoder.shardLength)
    const [probe, ...rest] = encoder.encode(9)
    expect(() => decoder.matches(probe.coefficients, probe.payload)).toThrow(RlncError)
    for (const shard of rest) decoder.add(shard)
    expect(decoder.matches(probe.coefficients, probe.payload)).toBe(true)
    const forged = probe.payload.slice()
    forged[17] ^= 1
    expect(decoder.matches(probe.coefficients, forged)).toBe(false)
    expect(() => decoder.matches(probe.coefficients, forged.subarray(1))).toThrow(RlncError)
    encoder.dispose()
    decoder.dispose()
  })
})
