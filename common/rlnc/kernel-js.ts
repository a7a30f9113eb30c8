import { MUL } from './gf256.js'
import { Heap } from './heap.js'
import { Kernel } from './kernel.js'

/** Below this many bytes a row is cheaper bytewise than building the word tables. */
const WORDS_FROM = 256

/**
 * The TypeScript kernel, for runtimes without WebAssembly SIMD. It keeps the
 * same heap (a WebAssembly.Memory, which every such runtime still has) so the
 * codecs do not care which kernel they got.
 *
 * Four bytes per step: one Int32 read, four lookups, one Int32 xor. Per call
 * it builds the coefficient's four lane tables (lane j holds c·b shifted into
 * byte j), so a word's product is four lookups xored, with no shifts in the
 * loop. Int32 rather than Uint32 keeps every value a small integer for V8
 * (Uint32 reads above 2^31 become doubles); lanes are placed by shifts, so the
 * result does not depend on the platform's byte order.
 */
export class JsKernel extends Kernel {
  readonly name = 'js'
  private readonly lanes = new Int32Array(1024)

  constructor() {
    super(new Heap(new WebAssembly.Memory({ initial: 1 }), 64))
  }

  combine(
    dst: number,
    srcs: ArrayLike<number>,
    coefs: ArrayLike<number>,
    n: number,
    len: number,
    accumulate: boolean,
  ): void {
    const bytes = this.heap.u8
    const words = this.heap.i32
    if (!accumulate) bytes.fill(0, dst, dst + len)
    for (let i = 0; i < n; i++) mulAcc(bytes, words, this.lanes, dst, srcs[i], len, coefs[i])
  }

  scatter(src: number, dsts: ArrayLike<number>, coefs: ArrayLike<number>, n: number, len: number): void {
    const bytes = this.heap.u8
    const words = this.heap.i32
    for (let i = 0; i < n; i++) mulAcc(bytes, words, this.lanes, dsts[i], src, len, coefs[i])
  }
}

/** dst ^= c·src over len bytes; `bytes` and `words` view the same memory. */
function mulAcc(
  bytes: Uint8Array,
  words: Int32Array,
  lanes: Int32Array,
  dst: number,
  src: number,
  len: number,
  c: number,
): void {
  if (c === 0) return
  const row = c << 8
  let i = 0
  // Word steps need dst and src equally misaligned; codec rows always are (16-byte aligned).
  if (len >= WORDS_FROM && ((dst ^ src) & 3) === 0) {
    for (let b = 0; b < 256; b++) {
      const p = MUL[row | b]
      lanes[b] = p
      lanes[256 | b] = p << 8
      lanes[512 | b] = p << 16
      lanes[768 | b] = p << 24
    }
    for (const head = (4 - (dst & 3)) & 3; i < head; i++) bytes[dst + i] ^= MUL[row | bytes[src + i]]
    let d = (dst + i) >>> 2
    let s = (src + i) >>> 2
    const quads = (len - i) >>> 4
    // Four words per iteration: the CPU overlaps their lookups.
    for (const end = d + 4 * quads; d < end; d += 4, s += 4) {
      const w0 = words[s]
      const w1 = words[s + 1]
      const w2 = words[s + 2]
      const w3 = words[s + 3]
      words[d] ^= lanes[w0 & 255] ^ lanes[256 | ((w0 >>> 8) & 255)] ^ lanes[512 | ((w0 >>> 16) & 255)] ^ lanes[768 | (w0 >>> 24)]
      words[d + 1] ^=
        lanes[w1 & 255] ^ lanes[256 | ((w1 >>> 8) & 255)] ^ lanes[512 | ((w1 >>> 16) & 255)] ^ lanes[768 | (w1 >>> 24)]
      words[d + 2] ^=
        lanes[w2 & 255] ^ lanes[256 | ((w2 >>> 8) & 255)] ^ lanes[512 | ((w2 >>> 16) & 255)] ^ lanes[768 | (w2 >>> 24)]
      words[d + 3] ^=
        lanes[w3 & 255] ^ lanes[256 | ((w3 >>> 8) & 255)] ^ lanes[512 | ((w3 >>> 16) & 255)] ^ lanes[768 | (w3 >>> 24)]
    }
    i += quads << 4
  }
  for (; i < len; i++) bytes[dst + i] ^= MUL[row | bytes[src + i]]
}
