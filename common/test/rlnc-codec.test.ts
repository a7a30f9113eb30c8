import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { beforeAll, describe, expect, it } from 'vitest'
import { OptimumError } from '../errors.js'
import {
  Decoder,
  Encoder,
  loadKernel,
  RlncError,
  seededRandomBytes,
  shardLengthFor,
  type CodedShard,
  type Kernel,
} from '../rlnc/index.js'
import { inv, mul } from '../rlnc/gf256.js'

let wasm: Kernel
let js: Kernel

beforeAll(async () => {
  wasm = await loadKernel({ kind: 'wasm-simd' })
  js = await loadKernel({ kind: 'js' })
})

function message(size: number, seed = size): Uint8Array {
  const bytes = new Uint8Array(size)
  seededRandomBytes(seed)(bytes)
  return bytes
}

function encode(kernel: Kernel, msg: Uint8Array, k: number, count = Math.ceil(1.5 * k), seed = 1): CodedShard[] {
  const encoder = new Encoder(kernel, msg, k, { random: seededRandomBytes(seed) })
  try {
    return encoder.encode(count)
  } finally {
    encoder.dispose()
  }
}

/** Feeds shards in order until complete; returns the decoder (caller disposes). */
function receive(kernel: Kernel, k: number, shardLength: number, shards: CodedShard[], seed = 2): Decoder {
  const decoder = new Decoder(kernel, k, shardLength, { random: seededRandomBytes(seed) })
  for (const shard of shards) if (decoder.add(shard) && decoder.complete) break
  return decoder
}

function decodes(kernel: Kernel, msg: Uint8Array, k: number, shards: CodedShard[]): void {
  const decoder = receive(kernel, k, shardLengthFor(msg.length, k), shards)
  try {
    expect(decoder.rank).toBe(k)
    const out = decoder.decode()
    expect(out.length).toBe(msg.length)
    expect(Buffer.from(out).equals(Buffer.from(msg))).toBe(true)
  } finally {
    decoder.dispose()
  }
}

/** Rank of a set of coefficient vectors, by plain Gaussian elimination over GF(2^8). */
function referenceRank(vectors: Uint8Array[]): number {
  const rows = vectors.map((v) => Array.from(v))
  let rank = 0
  for (let col = 0; col < (rows[0]?.length ?? 0) && rank < rows.length; col++) {
    const p = rows.findIndex((row, i) => i >= rank && row[col] !== 0)
    if (p < 0) continue
    ;[rows[rank], rows[p]] = [rows[p], rows[rank]]
    const scale = inv(rows[rank][col])
    rows[rank] = rows[rank].map((x) => mul(x, scale))
    for (let i = 0; i < rows.length; i++) {
      if (i === rank || rows[i][col] === 0) continue
      const f = rows[i][col]
      rows[i] = rows[i].map((x, j) => x ^ mul(f, rows[rank][j]))
    }
    rank++
  }
  return rank
}

/** a·s ⊕ b·t, computed bytewise: a shard that adds nothing to s and t. */
function mix(a: number, s: CodedShard, b: number, t: CodedShard): CodedShard {
  const lin = (x: Uint8Array, y: Uint8Array): Uint8Array => x.map((v, i) => mul(a, v) ^ mul(b, y[i]))
  return { coefficients: lin(s.coefficients, t.coefficients), payload: lin(s.payload, t.payload) }
}

describe('round trips', () => {
  const ks = [1, 2, 4, 8, 16, 32, 64]
  const sizes = [0, 1, 2, 3, 5, 63, 100, 1000, 4099, 65_536, 100_003]

  it('decode every size for every k with the SIMD kernel', () => {
    for (const k of ks) for (const size of sizes) decodes(wasm, message(size), k, encode(wasm, message(size), k))
  })

  it('decode with the TypeScript kernel too', () => {
    for (const k of ks) for (const size of [0, 1, 5, 1000, 4099]) decodes(js, message(size), k, encode(js, message(size), k))
  })

  it('decode a 10 MiB message', () => {
    const big = message(10 * 1024 * 1024)
    decodes(wasm, big, 8, encode(wasm, big, 8))
  })

  it('decode across kernels: shards from one decode on the other', () => {
    const msg = message(12_345)
    decodes(js, msg, 8, encode(wasm, msg, 8))
    decodes(wasm, msg, 8, encode(js, msg, 8))
  })

  it('decode with k = 255, the largest', () => {
    const msg = message(3000)
    decodes(wasm, msg, 255, encode(wasm, msg, 255, 260))
  })

  it('accept a Buffer (a Uint8Array subclass) as the message', () => {
    const msg = Buffer.from('hello, optimum')
    decodes(wasm, msg, 4, encode(wasm, msg, 4))
  })

  it('draw every encoder coefficient from 1..255', () => {
    const shards = encode(wasm, message(100), 16, 200)
    for (const shard of shards) expect(shard.coefficients.every((c) => c !== 0)).toBe(true)
  })
})

describe('decoding from any k independent shards of ceil(1.5k)', () => {
  function subsets(n: number, k: number): number[][] {
    if (k === 0) return [[]]
    if (n < k) return []
    return [...subsets(n - 1, k), ...subsets(n - 1, k - 1).map((s) => [...s, n - 1])]
  }

  it('k=4: every one of the 15 subsets of 6 shards', () => {
    const msg = message(1000)
    const shards = encode(wasm, msg, 4)
    for (const subset of subsets(6, 4)) {
      const chosen = subset.map((i) => shards[i])
      expect(referenceRank(chosen.map((s) => s.coefficients))).toBe(4)
      decodes(wasm, msg, 4, chosen.reverse())
    }
  })

  it('k=8 and k=16: random subsets in random order', () => {
    const random = seededRandomBytes(99)
    const pick = new Uint8Array(1)
    for (const k of [8, 16]) {
      const msg = message(5000, k)
      const shards = encode(wasm, msg, k, Math.ceil(1.5 * k), k)
      for (let trial = 0; trial < 20; trial++) {
        const pool = [...shards]
        const chosen: CodedShard[] = []
        while (chosen.length < k) {
          random(pick)
          chosen.push(pool.splice(pick[0] % pool.length, 1)[0])
        }
        const rank = referenceRank(chosen.map((s) => s.coefficients))
        const decoder = receive(wasm, k, shardLengthFor(msg.length, k), chosen)
        expect(decoder.rank).toBe(rank)
        if (rank === k) expect(Buffer.from(decoder.decode()).equals(Buffer.from(msg))).toBe(true)
        decoder.dispose()
      }
    }
  })

  it('a dependent set stops short of rank k and does not decode', () => {
    const msg = message(700)
    const [a, b, c] = encode(wasm, msg, 4)
    const decoder = receive(wasm, 4, shardLengthFor(700, 4), [a, b, c, mix(7, a, 9, c)])
    expect(decoder.rank).toBe(3)
    expect(() => decoder.decode()).toThrow(/cannot decode at rank 3 of 4/)
    decoder.dispose()
  })
})

describe('recoding', () => {
  it('shards recoded over 3 hops still decode', () => {
    for (const [size, k] of [
      [1, 4],
      [5000, 8],
      [65_536, 32],
    ]) {
      const msg = message(size)
      const len = shardLengthFor(size, k)
      const hop1 = receive(wasm, k, len, encode(wasm, msg, k))
      const hop2 = receive(wasm, k, len, hop1.recode(Math.ceil(1.5 * k)), 3)
      const hop3 = receive(wasm, k, len, hop2.recode(Math.ceil(1.5 * k)), 4)
      expect(Buffer.from(hop3.decode()).equals(Buffer.from(msg))).toBe(true)
      for (const d of [hop1, hop2, hop3]) d.dispose()
    }
  })

  it('recodes from a partial rank: the shards carry exactly what was held', () => {
    const k = 8
    const msg = message(3000)
    const len = shardLengthFor(3000, k)
    const shards = encode(wasm, msg, k)
    const partial = receive(wasm, k, len, shards.slice(0, 3)) // rank 3
    const relay = receive(wasm, k, len, partial.recode(10), 5)
    expect(relay.rank).toBe(3)
    // The relay completes from the publisher's other shards, mixed with its recoded ones.
    for (const shard of shards.slice(3)) relay.add(shard)
    expect(Buffer.from(relay.decode()).equals(Buffer.from(msg))).toBe(true)
    for (const d of [partial, relay]) d.dispose()
  })

  it('never emits a zero coefficient vector, and refuses to recode from nothing', () => {
    const decoder = new Decoder(wasm, 4, shardLengthFor(20, 4))
    expect(() => decoder.recode()).toThrow(/nothing to recode/)
    const shards = encode(wasm, message(20), 4)
    decoder.add(shards[0])
    for (const shard of decoder.recode(500)) expect(shard.coefficients.some((c) => c !== 0)).toBe(true)
    expect(decoder.recode(0)).toEqual([])
    decoder.dispose()
  })
})

describe('innovation', () => {
  it('rejects duplicates, combinations of held shards and zero vectors without changing state', () => {
    for (const kernel of [wasm, js]) {
      const k = 8
      const msg = message(999)
      const shards = encode(kernel, msg, k)
      const decoder = new Decoder(kernel, k, shardLengthFor(999, k))
      expect(decoder.add(shards[0])).toBe(true)
      expect(decoder.add(shards[1])).toBe(true)
      expect(decoder.add(shards[2])).toBe(true)
      const useless = [
        shards[1],
        { coefficients: shards[0].coefficients.slice(), payload: shards[0].payload.slice() },
        mix(3, shards[0], 200, shards[2]),
        mix(1, mix(5, shards[0], 6, shards[1]), 7, shards[2]),
        { coefficients: new Uint8Array(k), payload: new Uint8Array(shards[0].payload.length) },
        { coefficients: new Uint8Array(k), payload: shards[3].payload },
      ]
      for (const shard of useless) {
        expect(decoder.isInnovative(shard.coefficients)).toBe(false)
        expect(decoder.add(shard)).toBe(false)
        expect(decoder.rank).toBe(3)
      }
      expect(decoder.isInnovative(shards[3].coefficients)).toBe(true)
      expect(decoder.rank).toBe(3)
      for (const shard of shards.slice(3)) decoder.add(shard)
      expect(decoder.complete).toBe(true)
      expect(decoder.isInnovative(shards[0].coefficients)).toBe(false)
      expect(decoder.add(encode(kernel, msg, k, 1, 77)[0])).toBe(false)
      expect(Buffer.from(decoder.decode()).equals(Buffer.from(msg))).toBe(true)
      decoder.dispose()
    }
  })

  it('a zero vector never raises the rank of an empty decoder', () => {
    const decoder = new Decoder(wasm, 3, 5)
    expect(decoder.add({ coefficients: new Uint8Array(3), payload: new Uint8Array(5) })).toBe(false)
    expect(decoder.rank).toBe(0)
    decoder.dispose()
  })
})

describe('validation', () => {
  const invalidArgument = (fn: () => unknown, pattern: RegExp): void => {
    let error: unknown
    try {
      fn()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(RlncError)
    expect(error).toBeInstanceOf(OptimumError)
    expect((error as RlncError).code).toBe('invalid_argument')
    expect((error as Error).message).toMatch(pattern)
  }

  it('rejects bad encoder arguments', () => {
    for (const k of [0, 256, 2.5, Number.NaN, '4', undefined]) {
      invalidArgument(() => new Encoder(wasm, new Uint8Array(4), k as number), /k must be an integer in 1\.\.255/)
    }
    for (const msg of ['hello', [1, 2], null, new ArrayBuffer(4), new Uint16Array(2)]) {
      invalidArgument(() => new Encoder(wasm, msg as unknown as Uint8Array, 4), /message must be a Uint8Array/)
    }
    const encoder = new Encoder(wasm, new Uint8Array(4), 4)
    for (const count of [-1, 1.5, 70_000, '3']) {
      invalidArgument(() => encoder.encode(count as number), /shard count must be an integer/)
    }
    encoder.dispose()
    encoder.dispose()
    invalidArgument(() => encoder.encode(1), /disposed/)
  })

  it('rejects bad decoder arguments and malformed shards', () => {
    invalidArgument(() => new Decoder(wasm, 0, 10), /k must be/)
    invalidArgument(() => new Decoder(wasm, 300, 10), /k must be/)
    for (const len of [0, -1, 1.5, Number.NaN]) invalidArgument(() => new Decoder(wasm, 4, len), /shard length/)

    const k = 4
    const [good] = encode(wasm, message(40), k)
    const len = good.payload.length
    const decoder = new Decoder(wasm, k, len)
    const bad: [unknown, RegExp][] = [
      [null, /a shard must be an object/],
      ['shard', /a shard must be an object/],
      [{}, /coefficients must be a Uint8Array, got undefined/],
      [{ coefficients: [1, 2, 3, 4], payload: good.payload }, /coefficients must be a Uint8Array, got Array/],
      [{ coefficients: good.coefficients.subarray(0, 3), payload: good.payload }, /coefficients must have length k=4, got 3/],
      [{ coefficients: new Uint8Array(5), payload: good.payload }, /coefficients must have length k=4, got 5/],
      [{ coefficients: good.coefficients, payload: good.payload.subarray(1) }, new RegExp(`payload must have length ${len}, got ${len - 1}`)],
      [{ coefficients: good.coefficients, payload: new Uint8Array(len + 1) }, /payload must have length/],
      [{ coefficients: good.coefficients, payload: 'x'.repeat(len) }, /payload must be a Uint8Array, got string/],
    ]
    for (const [shard, pattern] of bad) invalidArgument(() => decoder.add(shard as CodedShard), pattern)
    invalidArgument(() => decoder.isInnovative(new Uint8Array(3)), /length k=4/)
    invalidArgument(() => decoder.isInnovative(null as unknown as Uint8Array), /must be a Uint8Array, got null/)
    expect(decoder.rank).toBe(0)
    expect(decoder.add(good)).toBe(true)
    invalidArgument(() => decoder.decode(), /cannot decode at rank 1 of 4/)
    invalidArgument(() => decoder.recode(-1), /shard count/)
    decoder.dispose()
    invalidArgument(() => decoder.add(good), /disposed/)
    invalidArgument(() => decoder.isInnovative(good.coefficients), /disposed/)
    invalidArgument(() => decoder.recode(), /disposed/)
  })

  it('a forged payload gives an error, never a crash', () => {
    const msg = message(50)
    const [shard] = encode(wasm, msg, 1, 1)
    const decoder = new Decoder(wasm, 1, shard.payload.length)
    decoder.add({ coefficients: shard.coefficients, payload: new Uint8Array(shard.payload.length).fill(0xff) })
    invalidArgument(() => decoder.decode(), /corrupt frame/)
    decoder.dispose()
  })
})

describe('memory', () => {
  it('holds at most k rows of the shard length, and nothing before a useful shard', () => {
    const heap = wasm.heap
    const base = heap.bytesInUse
    const k = 16
    const msg = message(100_000)
    const len = shardLengthFor(msg.length, k)
    const shards = encode(wasm, msg, k, 40)
    const decoder = new Decoder(wasm, k, len)
    decoder.add({ coefficients: new Uint8Array(k), payload: new Uint8Array(len) })
    expect(heap.bytesInUse).toBe(base)
    for (const shard of shards) decoder.add(shard)
    decoder.recode(5)
    decoder.decode()
    expect(heap.bytesInUse - base).toBe(k * Math.ceil(len / 16) * 16)
    decoder.dispose()
    expect(heap.bytesInUse).toBe(base)
  })

  it('does not grow when many encoders and decoders come and go', async () => {
    // Fresh kernels: the shared ones already grew for the 10 MiB case.
    for (const kernel of [await loadKernel({ kind: 'wasm-simd' }), await loadKernel({ kind: 'js' })]) {
      const heap = kernel.heap
      const base = heap.bytesInUse
      let reserved = 0
      const live: Decoder[] = []
      for (let i = 0; i < 1500; i++) {
        const k = [1, 4, 8, 32][i % 4]
        const msg = message((i * 7919) % 20_000, i)
        const shards = encode(kernel, msg, k, k + 2, i)
        const decoder = receive(kernel, k, shardLengthFor(msg.length, k), shards)
        decoder.recode(1)
        // Keep a few alive for a while, as a node does with messages in flight.
        live.push(decoder)
        if (live.length > 20) live.shift()!.dispose()
        if (i === 500) reserved = heap.bytesReserved
      }
      for (const decoder of live) decoder.dispose()
      expect(heap.bytesInUse).toBe(base)
      // Peak live data is ~21 decoders of ≤ 20 KB: memory plateaus near that, whatever the churn.
      expect(heap.bytesReserved).toBeLessThanOrEqual(2 * reserved)
      expect(heap.bytesReserved).toBeLessThan(2 * 1024 * 1024)
    }
  })

  it('gives back the heap of a codec dropped without dispose once it is collected', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const heap = wasm.heap
    const base = heap.bytesInUse
    ;(() => {
      for (let i = 0; i < 20; i++) {
        const encoder = new Encoder(wasm, message(50_000), 8)
        receive(wasm, 8, encoder.shardLength, encoder.encode(8))
      }
    })()
    expect(heap.bytesInUse).toBeGreaterThan(base)
    for (let attempt = 0; attempt < 50 && heap.bytesInUse > base; attempt++) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(heap.bytesInUse).toBeLessThanOrEqual(base)
  })
})
