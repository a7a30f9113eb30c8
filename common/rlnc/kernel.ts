import type { Heap } from './heap.js'

export type KernelName = 'wasm-simd' | 'js'

/** Largest number of terms one combine or scatter call takes (k ≤ 255 rows, plus room). */
export const MAX_TERMS = 256

/** combineInto stages its output through this much heap, small enough to stay in cache. */
const CHUNK = 32 * 1024

/**
 * Row arithmetic over GF(2^8) on the kernel's own heap. Codecs allocate their
 * rows with `heap.alloc` and hand the kernel addresses, so the inner loops
 * never copy: bytes cross between JS arrays and the heap only at the API
 * boundary (combineInto, combineFrom, and the encoder taking its message in).
 *
 * Two implementations, picked by loadKernel (kernel-loader.ts): WebAssembly
 * SIMD, and plain TypeScript for runtimes without SIMD. They produce the same
 * bytes for the same calls.
 */
export abstract class Kernel {
  abstract readonly name: KernelName
  readonly heap: Heap
  private readonly scratch: number
  private readonly termPtrs = new Uint32Array(MAX_TERMS)
  private readonly termCoefs = new Uint8Array(MAX_TERMS)

  protected constructor(heap: Heap) {
    this.heap = heap
    this.scratch = heap.alloc(CHUNK)
  }

  /**
   * dst = Σ coefs[i]·srcs[i] over `len` bytes for i < n, or dst ^= that sum
   * when `accumulate`. A source may not overlap dst.
   */
  abstract combine(
    dst: number,
    srcs: ArrayLike<number>,
    coefs: ArrayLike<number>,
    n: number,
    len: number,
    accumulate: boolean,
  ): void

  /** dsts[i] ^= coefs[i]·src over `len` bytes, for i < n: one source into many rows. */
  abstract scatter(src: number, dsts: ArrayLike<number>, coefs: ArrayLike<number>, n: number, len: number): void

  /** out = Σ coefs[i]·srcs[i] (heap rows of out.length bytes), written into a JS array. */
  combineInto(out: Uint8Array, srcs: ArrayLike<number>, coefs: ArrayLike<number>, n: number): void {
    const { termPtrs, scratch } = this
    for (let off = 0; off < out.length; off += CHUNK) {
      const len = Math.min(CHUNK, out.length - off)
      for (let i = 0; i < n; i++) termPtrs[i] = srcs[i] + off
      this.combine(scratch, termPtrs, coefs, n, len, false)
      out.set(this.heap.u8.subarray(scratch, scratch + len), off)
    }
  }

  /**
   * dst = c·input ⊕ Σ coefs[i]·srcs[i], where input is a JS array of the row
   * length: it comes in through the scratch chunk and is scaled on the way,
   * in the same pass as the sum. n must leave room for the extra term.
   */
  combineFrom(dst: number, input: Uint8Array, c: number, srcs: ArrayLike<number>, coefs: ArrayLike<number>, n: number): void {
    const { termPtrs, termCoefs, scratch } = this
    termPtrs[0] = scratch
    termCoefs[0] = c
    for (let i = 0; i < n; i++) termCoefs[i + 1] = coefs[i]
    for (let off = 0; off < input.length; off += CHUNK) {
      const len = Math.min(CHUNK, input.length - off)
      this.heap.u8.set(input.subarray(off, off + len), scratch)
      for (let i = 0; i < n; i++) termPtrs[i + 1] = srcs[i] + off
      this.combine(dst + off, termPtrs, termCoefs, n + 1, len, false)
    }
  }
}
