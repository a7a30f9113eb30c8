/**
 * Assembles kernel.wat into build/rlnc-kernel.wasm (`npm run build:wasm`; runs
 * before test, build and bench). The binary is never committed: the WAT is the
 * source. kernel-wasm.ts looks for the output in the repository's build/,
 * from source (tsx) and from dist/ alike.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import wabt from 'wabt'
import { WASM_FILE } from './kernel-wasm.js'

const source = fileURLToPath(new URL('./kernel.wat', import.meta.url))
const target = fileURLToPath(new URL(`../../build/${WASM_FILE}`, import.meta.url))

const toolkit = await wabt()
const module = toolkit.parseWat(source, await readFile(source, 'utf8'), { simd: true, bulk_memory: true })
try {
  module.validate()
  const { buffer } = module.toBinary({})
  if (!WebAssembly.validate(new Uint8Array(buffer))) throw new Error('the runtime rejects the assembled module')
  await mkdir(new URL('../../build/', import.meta.url), { recursive: true })
  await writeFile(target, buffer)
  console.log(`build:wasm: ${target} (${buffer.byteLength} bytes)`)
} finally {
  module.destroy()
}
