import { RlncError } from './errors.js'
import type { Kernel, KernelName } from './kernel.js'
import { JsKernel } from './kernel-js.js'
import { WasmKernel } from './kernel-wasm.js'

/**
 * The smallest module that uses a SIMD instruction:
 * (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b,
])

export function simdSupported(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE)
}

export interface LoadKernelOptions {
  /** 'auto' (default): WebAssembly SIMD when the runtime has it, else the TypeScript kernel. */
  kind?: KernelName | 'auto'
  /** Where the .wasm is, if not in the repository's build/. */
  wasmLocation?: string | URL
}

/**
 * Loads a kernel once at start-up; codecs take it as an argument. A missing
 * .wasm is an error (run `npm run build:wasm`), never a quiet switch to the
 * slower kernel: the TypeScript kernel is chosen only for runtimes without SIMD,
 * and `kernel.name` says which one runs.
 */
export async function loadKernel(options: LoadKernelOptions = {}): Promise<Kernel> {
  const kind = options.kind ?? 'auto'
  if (kind !== 'auto' && kind !== 'wasm-simd' && kind !== 'js') {
    throw new RlncError('invalid_argument', `rlnc: unknown kernel ${String(kind)}`)
  }
  const simd = simdSupported()
  if (kind === 'js' || (kind === 'auto' && !simd)) return new JsKernel()
  if (!simd) throw new RlncError('unavailable', 'rlnc: this runtime has no WebAssembly SIMD; use the js kernel')
  return WasmKernel.load(options.wasmLocation)
}
