import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { RlncError } from './errors.js'
import { MUL } from './gf256.js'
import { Heap } from './heap.js'
import { Kernel, MAX_TERMS } from './kernel.js'

/** File name of the assembled kernel.wat, in the repository's build/ folder. */
export const WASM_FILE = 'rlnc-kernel.wasm'

// Memory layout shared with kernel.wat.
const TABLES = 0
const TERMS = 8192
const HEAP_BASE = TERMS + MAX_TERMS * 8

/**
 * build/ as seen from this file when run from source (common/rlnc/) and when
 * compiled (dist/common/rlnc/), so one `npm run build:wasm` serves both.
 */
export function wasmLocations(): URL[] {
  return [new URL(`../../build/${WASM_FILE}`, import.meta.url), new URL(`../../../build/${WASM_FILE}`, import.meta.url)]
}

interface KernelExports {
  combine(dst: number, accumulate: number, n: number, len: number): void
  scatter(src: number, n: number, len: number): void
  xor(dst: number, src: number, len: number): void
}

/** The WebAssembly SIMD kernel (kernel.wat), one instance and one memory per kernel. */
export class WasmKernel extends Kernel {
  readonly name = 'wasm-simd'
  private readonly exports: KernelExports

  private constructor(heap: Heap, exports: KernelExports) {
    super(heap)
    this.exports = exports
  }

  /** Instantiates build/rlnc-kernel.wasm (or the file at `location`). */
  static async load(location?: string | URL): Promise<WasmKernel> {
    const bytes = await readBinary(location === undefined ? wasmLocations() : [location])
    const memory = new WebAssembly.Memory({ initial: 1 })
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } })
    writeNibbleTables(new Uint8Array(memory.buffer, TABLES, 256 * 32))
    return new WasmKernel(new Heap(memory, HEAP_BASE), instance.exports as unknown as KernelExports)
  }

  combine(
    dst: number,
    srcs: ArrayLike<number>,
    coefs: ArrayLike<number>,
    n: number,
    len: number,
    accumulate: boolean,
  ): void {
    this.writeTerms(srcs, coefs, n)
    this.exports.combine(dst, accumulate ? 1 : 0, n, len)
  }

  scatter(src: number, dsts: ArrayLike<number>, coefs: ArrayLike<number>, n: number, len: number): void {
    this.writeTerms(dsts, coefs, n)
    this.exports.scatter(src, n, len)
  }

  /** dst ^= src with the same loop shape as the kernel: the benchmark's ceiling. */
  xor(dst: number, src: number, len: number): void {
    this.exports.xor(dst, src, len)
  }

  private writeTerms(ptrs: ArrayLike<number>, coefs: ArrayLike<number>, n: number): void {
    if (n > MAX_TERMS) throw new RlncError('internal', `rlnc kernel: ${n} terms, at most ${MAX_TERMS}`)
    const words = this.heap.i32
    for (let i = 0, w = TERMS >>> 2; i < n; i++, w += 2) {
      words[w] = ptrs[i]
      words[w + 1] = coefs[i]
    }
  }
}

async function readBinary(locations: (string | URL)[]): Promise<Uint8Array<ArrayBuffer>> {
  for (const location of locations) {
    try {
      return new Uint8Array(await readFile(location))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  const paths = locations.map((l) => (l instanceof URL ? fileURLToPath(l) : l))
  throw new RlncError(
    'internal',
    `rlnc: the WebAssembly kernel is not built (looked for ${paths.join(', ')}); run \`npm run build:wasm\``,
  )
}

/** For each coefficient c, at c*32: c·n and c·(n << 4) for n in 0..15 (kernel.wat's lookups). */
function writeNibbleTables(tables: Uint8Array): void {
  for (let c = 0; c < 256; c++) {
    for (let n = 0; n < 16; n++) {
      tables[c * 32 + n] = MUL[(c << 8) | n]
      tables[c * 32 + 16 + n] = MUL[(c << 8) | (n << 4)]
    }
  }
}
