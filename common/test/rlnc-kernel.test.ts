import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { RlncError } from '../rlnc/errors.js'
import { mul } from '../rlnc/gf256.js'
import type { Kernel } from '../rlnc/kernel.js'
import { loadKernel, simdSupported } from '../rlnc/kernel-loader.js'
import { WASM_FILE, wasmLocations } from '../rlnc/kernel-wasm.js'
import { seededRandomBytes } from '../rlnc/random.js'

let wasm: Kernel
let js: Kernel

beforeAll(async () => {
  wasm = await loadKernel({ kind: 'wasm-simd' })
  js = await loadKernel({ kind: 'js' })
})

describe('kernel selection', () => {
  it('selects the WebAssembly SIMD kernel on this runtime (Node 20 has wasm SIMD)', async () => {
    expect(simdSupported()).toBe(true)
    expect((await loadKernel()).name).toBe('wasm-simd')
    expect(wasm.name).toBe('wasm-simd')
    expect(js.name).toBe('js')
  })

  it('looks for the .wasm in the repository build/ when run from source', () => {
    const repo = fileURLToPath(new URL('../../', import.meta.url))
    expect(fileURLToPath(wasmLocations()[0])).toBe(`${repo}build/${WASM_FILE}`)
  })

  it('fails loudly, naming the build step, when the .wasm is missing', async () => {
    const missing = fileURLToPath(new URL('./no-such-kernel.wasm', import.meta.url))
    const error = await loadKernel({ wasmLocation: missing }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RlncError)
    expect((error as RlncError).code).toBe('internal')
    expect((error as Error).message).toContain('npm run build:wasm')
    expect((error as Error).message).toContain(missing)
  })

  it('falls back to the js kernel only when the runtime lacks SIMD', async () => {
    const validate = vi.spyOn(WebAssembly, 'validate').mockReturnValue(false)
    try {
      expect(simdSupported()).toBe(false)
      expect((await loadKernel()).name).toBe('js')
      await expect(loadKernel({ kind: 'wasm-simd' })).rejects.toMatchObject({ code: 'unavailable' })
    } finally {
      validate.mockRestore()
    }
    expect((await loadKernel()).name).toBe('wasm-simd')
  })

  it('rejects an unknown kernel name', async () => {
    await expect(loadKernel({ kind: 'avx512' as never })).rejects.toMatchObject({ code: 'invalid_argument' })
  })
})

/**
 * One random scenario run on a kernel: rows placed at the given (possibly
 * unaligned) offsets, then combine, accumulate, scatter, combineInto and
 * combineFrom.
 * Returns every byte the kernel wrote, for comparison across kernels.
 */
function scenario(kernel: Kernel, seed: number, len: number, n: number, misalign: number[]): Uint8Array[] {
  const random = seededRandomBytes(seed)
  const heap = kernel.heap
  const blocks: number[] = []
  const at = (i: number): number => {
    const block = heap.alloc(len + 16)
    blocks.push(block)
    return block + misalign[i % misalign.length]
  }
  const dst = at(0)
  const srcs = Array.from({ length: n }, (_, i) => at(i + 1))
  const coefs = new Uint8Array(n)
  random(coefs)
  coefs[0] = 0 // a zero coefficient must contribute nothing
  const fill = (ptr: number): void => random(heap.u8.subarray(ptr, ptr + len))
  for (const src of srcs) fill(src)
  fill(dst)
  const bytes = (ptr: number): Uint8Array => heap.u8.slice(ptr, ptr + len)
  const out: Uint8Array[] = []

  kernel.combine(dst, srcs, coefs, n, len, false)
  out.push(bytes(dst))
  kernel.combine(dst, srcs, coefs, n, len, true)
  out.push(bytes(dst))
  fill(dst)
  const before = bytes(dst)
  kernel.combine(dst, srcs, coefs, n, len, true)
  out.push(before, bytes(dst))
  kernel.scatter(dst, srcs, coefs, n, len)
  for (const src of srcs) out.push(bytes(src))
  const external = new Uint8Array(len)
  kernel.combineInto(external, srcs, coefs, n)
  out.push(external)
  const input = new Uint8Array(len)
  random(input)
  kernel.combineFrom(dst, input, 0x8e, srcs, coefs, n)
  out.push(bytes(dst))
  for (const block of blocks) heap.release(block)
  return out
}

describe('wasm-simd and js kernels', () => {
  const lengths = [0, 1, 3, 4, 5, 15, 16, 17, 31, 63, 64, 65, 100, 127, 1000, 4099, 8191, 8192, 8193, 40_000, 70_001]
  const misalignments = [
    [0],
    [1, 2, 3],
    [3, 0, 5, 1],
    [4, 8, 12],
    [7, 7, 7],
  ]

  it('produce identical bytes on the same random vectors, aligned and unaligned', () => {
    let seed = 1
    for (const len of lengths) {
      for (const misalign of misalignments) {
        for (const n of [1, 2, 5]) {
          const a = scenario(wasm, seed, len, n, misalign)
          const b = scenario(js, seed, len, n, misalign)
          expect(a.length).toBe(b.length)
          for (let i = 0; i < a.length; i++) {
            if (!Buffer.from(a[i]).equals(Buffer.from(b[i]))) {
              throw new Error(`len ${len} n ${n} misalign ${misalign} output ${i} differs`)
            }
          }
          seed++
        }
      }
    }
  })

  it('compute Σ c_i·src_i as the field defines it', () => {
    for (const kernel of [wasm, js]) {
      for (const len of [1, 17, 64, 1000, 8193]) {
        const random = seededRandomBytes(len)
        const heap = kernel.heap
        const n = 3
        const srcs = Array.from({ length: n }, () => heap.alloc(len))
        const dst = heap.alloc(len)
        const coefs = Uint8Array.from([0x53, 1, 0xff])
        const data = srcs.map((src) => {
          random(heap.u8.subarray(src, src + len))
          return heap.u8.slice(src, src + len)
        })
        const initial = new Uint8Array(len)
        random(initial)
        heap.u8.set(initial, dst)
        kernel.combine(dst, srcs, coefs, n, len, true)
        const want = initial.map((x, j) => x ^ mul(0x53, data[0][j]) ^ data[1][j] ^ mul(0xff, data[2][j]))
        expect(heap.u8.slice(dst, dst + len)).toEqual(want)
        kernel.combine(dst, srcs, coefs, n, len, false)
        expect(heap.u8.slice(dst, dst + len)).toEqual(want.map((x, j) => x ^ initial[j]))
        for (const p of [...srcs, dst]) heap.release(p)
      }
    }
  })
})

describe('heap', () => {
  it('hands out 16-byte aligned blocks and reuses released space', () => {
    const heap = js.heap
    const base = heap.bytesInUse
    const a = heap.alloc(1)
    const b = heap.alloc(100)
    const c = heap.alloc(1000)
    for (const p of [a, b, c]) expect(p % 16).toBe(0)
    expect(b).toBeGreaterThanOrEqual(a + 16)
    expect(c).toBeGreaterThanOrEqual(b + 112)
    heap.release(b)
    expect(heap.alloc(100)).toBe(b) // best fit: the hole left by b
    heap.release(a)
    heap.release(b)
    expect(heap.alloc(128)).toBe(a) // a and b coalesced
    heap.release(a)
    heap.release(c)
    expect(heap.bytesInUse).toBe(base)
  })

  it('refuses to release an unknown block', () => {
    expect(() => js.heap.release(12345)).toThrow(RlncError)
    const p = js.heap.alloc(16)
    js.heap.release(p)
    expect(() => js.heap.release(p)).toThrow(/unknown block/)
  })

  it('stays bounded under churn: memory stops growing once the peak is reached', () => {
    const heap = wasm.heap
    const random = seededRandomBytes(7)
    const sizes = new Uint8Array(20_000)
    random(sizes)
    const live: number[] = []
    let reservedAfterWarmup = 0
    for (let i = 0; i < sizes.length; i++) {
      if (live.length > 40 || (live.length > 0 && sizes[i] & 1)) {
        heap.release(live.splice(sizes[i] % live.length, 1)[0])
      } else {
        live.push(heap.alloc(sizes[i] * 997))
      }
      if (i === 2000) reservedAfterWarmup = heap.bytesReserved
    }
    for (const p of live) heap.release(p)
    expect(heap.bytesReserved).toBeLessThanOrEqual(reservedAfterWarmup * 2)
    expect(heap.bytesReserved).toBeLessThan(64 * 1024 * 1024)
  })
})
