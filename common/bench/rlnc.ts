/**
 * RLNC codec benchmark (`npm run bench:rlnc`): not a test, asserts nothing.
 * Human-readable lines first; the last line is one JSON object with every
 * number (median ms per operation, MB/s of message or buffer bytes). The
 * fastest run is printed next to each median: on a shared machine the gap
 * between them is other processes' load (the JSON records the load average).
 */
import { loadavg } from 'node:os'
import { Decoder, Encoder, loadKernel, seededRandomBytes, shardLengthFor, type CodedShard, type Kernel } from '../rlnc/index.js'
import { WasmKernel } from '../rlnc/kernel-wasm.js'

const KiB = 1024
const MiB = 1024 * KiB
const SIZES = [
  { label: '1kib', bytes: KiB },
  { label: '64kib', bytes: 64 * KiB },
  { label: '1mib', bytes: MiB },
  { label: '10mib', bytes: 10 * MiB },
]
const KS = [4, 8, 32]
const KERNEL_BYTES = 256 * KiB
/** Per measured operation: at least this many timed runs, and at least this long. */
const MIN_RUNS = 7
const MIN_MS = 600

const results: Record<string, number | string> = {}

interface Timing {
  median: number
  fastest: number
}

/** Wall time of fn in ms, after warming up; runs it until both minimums are met. */
function time(fn: () => void): Timing {
  const warmUntil = performance.now() + MIN_MS / 2
  do fn()
  while (performance.now() < warmUntil)
  const times: number[] = []
  const until = performance.now() + MIN_MS
  while (times.length < MIN_RUNS || performance.now() < until) {
    const start = performance.now()
    fn()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return { median: times[times.length >> 1], fastest: times[0] }
}

function mbps(bytes: number, ms: number): number {
  return Math.round(bytes / 1e6 / (ms / 1e3))
}

/**
 * MB/s of each loop over the same 256 KiB buffers, measured in alternating
 * rounds so that load from other processes falls on all of them alike.
 */
function buffersThroughput(wasm: WasmKernel, js: Kernel): Record<'wasm' | 'js' | 'xor' | 'memcpy', number> {
  const buffers = (kernel: Kernel): [number, number] => {
    const dst = kernel.heap.alloc(KERNEL_BYTES)
    const src = kernel.heap.alloc(KERNEL_BYTES)
    seededRandomBytes(1)(kernel.heap.u8.subarray(dst, dst + KERNEL_BYTES))
    seededRandomBytes(2)(kernel.heap.u8.subarray(src, src + KERNEL_BYTES))
    return [dst, src]
  }
  const [dst, src] = buffers(wasm)
  const [jsDst, jsSrc] = buffers(js)
  const loops = {
    wasm: () => wasm.combine(dst, [src], [0x53], 1, KERNEL_BYTES, true),
    js: () => js.combine(jsDst, [jsSrc], [0x53], 1, KERNEL_BYTES, true),
    xor: () => wasm.xor(dst, src, KERNEL_BYTES),
    memcpy: () => {
      const u8 = wasm.heap.u8
      u8.set(u8.subarray(src, src + KERNEL_BYTES), dst)
    },
  }
  const times: Record<string, number[]> = { wasm: [], js: [], xor: [], memcpy: [] }
  for (let round = 0; round < 41; round++) {
    for (const [name, loop] of Object.entries(loops)) {
      const calls = name === 'js' ? 4 : 40
      if (round === 0) for (let i = 0; i < calls; i++) loop()
      const start = performance.now()
      for (let i = 0; i < calls; i++) loop()
      times[name].push((performance.now() - start) / calls)
    }
  }
  for (const p of [dst, src]) wasm.heap.release(p)
  for (const p of [jsDst, jsSrc]) js.heap.release(p)
  const rate = (name: string): number => {
    const sorted = times[name].slice(1).sort((a, b) => a - b)
    return mbps(KERNEL_BYTES, sorted[sorted.length >> 1])
  }
  return { wasm: rate('wasm'), js: rate('js'), xor: rate('xor'), memcpy: rate('memcpy') }
}

function randomMessage(bytes: number): Uint8Array {
  const message = new Uint8Array(bytes)
  seededRandomBytes(bytes)(message)
  return message
}

/** `into`: a reused output buffer (the protocol's pooled path, no fresh pages per decode); else a fresh array. */
function decodeAll(kernel: Kernel, k: number, shardLength: number, shards: CodedShard[], into?: Uint8Array): Uint8Array {
  const decoder = new Decoder(kernel, k, shardLength)
  for (const shard of shards) if (decoder.add(shard) && decoder.complete) break
  const message = into === undefined ? decoder.decode() : decoder.decodeInto(into)
  decoder.dispose()
  return message
}

function codecCell(kernel: Kernel, label: string, bytes: number, k: number): void {
  const message = randomMessage(bytes)
  const count = Math.ceil(1.5 * k)
  const shardLength = shardLengthFor(bytes, k)
  const encode = time(() => {
    const encoder = new Encoder(kernel, message, k)
    encoder.encode(count)
    encoder.dispose()
  })
  const encoder = new Encoder(kernel, message, k)
  const shards = encoder.encode(count)
  encoder.dispose()

  const decoded = decodeAll(kernel, k, shardLength, shards)
  if (decoded.length !== bytes || decoded.some((b, i) => b !== message[i])) throw new Error(`${label} k=${k}: bad decode`)
  const decode = time(() => decodeAll(kernel, k, shardLength, shards))
  const pool = new Uint8Array(bytes)
  const decodeInto = time(() => decodeAll(kernel, k, shardLength, shards, pool))

  const holder = new Decoder(kernel, k, shardLength)
  for (const shard of shards) holder.add(shard)
  const recode = time(() => holder.recode(1))
  holder.dispose()

  const key = `${label}_k${k}`
  results[`encode_${key}_ms`] = round(encode.median)
  results[`decode_${key}_ms`] = round(decode.median)
  results[`decode_into_${key}_ms`] = round(decodeInto.median)
  results[`recode_${key}_ms`] = round(recode.median)
  results[`encode_${key}_mbps`] = mbps(bytes, encode.median)
  results[`decode_${key}_mbps`] = mbps(bytes, decode.median)
  console.log(
    `${label.padStart(5)} k=${String(k).padEnd(2)} ` +
      `encode ${String(count).padStart(2)} shards ${fmt(encode)} ${String(mbps(bytes, encode.median)).padStart(5)} MB/s  ` +
      `recode 1 ${fmt(recode)}  ` +
      `decode ${fmt(decode)} ${String(mbps(bytes, decode.median)).padStart(5)} MB/s  ` +
      `decodeInto ${fmt(decodeInto)}`,
  )
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

function fmt({ median, fastest }: Timing): string {
  return `${median.toFixed(3).padStart(7)} ms (${fastest.toFixed(3)})`
}

const started = performance.now()
const wasm = await loadKernel({ kind: 'wasm-simd' })
if (!(wasm instanceof WasmKernel)) throw new Error('expected the WebAssembly kernel')
const js = await loadKernel({ kind: 'js' })
const auto = await loadKernel()

console.log(`RLNC GF(2^8) benchmark — node ${process.version}, selected kernel: ${auto.name}`)
const { wasm: kernelWasm, js: kernelJs, xor, memcpy } = buffersThroughput(wasm, js)
console.log(`kernel dst ^= c·src, 256 KiB:  wasm-simd ${kernelWasm} MB/s   js ${kernelJs} MB/s`)
console.log(`ceiling on the same buffers:    wasm-simd xor ${xor} MB/s   memcpy (Uint8Array.set) ${memcpy} MB/s`)
console.log(`kernel / xor ceiling: ${Math.round((100 * kernelWasm) / xor)}%`)
results.kernel = auto.name
results.node = process.version
results.loadavg_1m_start = Math.round(loadavg()[0] * 100) / 100
results.kernel_wasm_mbps = kernelWasm
results.kernel_js_mbps = kernelJs
results.xor_ceiling_mbps = xor
results.memcpy_mbps = memcpy

console.log('codec (wasm-simd): median ms per operation (fastest run); MB/s of message bytes at the median')
for (const { label, bytes } of SIZES) for (const k of KS) codecCell(wasm, label, bytes, k)
const target = (what: string, ok: boolean): void => console.log(`target ${ok ? 'met    ' : 'MISSED '} ${what}`)
target(`kernel_wasm_mbps >= 40% of xor_ceiling_mbps (${Math.round((100 * kernelWasm) / xor)}%)`, kernelWasm >= 0.4 * xor)
target(`kernel_js_mbps >= 600 (${kernelJs})`, kernelJs >= 600)
target(`encode_1mib_k4_ms <= 1 (${results.encode_1mib_k4_ms})`, (results.encode_1mib_k4_ms as number) <= 1)
target(`decode_1mib_k4_ms <= 0.6 (${results.decode_1mib_k4_ms})`, (results.decode_1mib_k4_ms as number) <= 0.6)
target(`decode_into_1mib_k4_ms <= 0.6 (${results.decode_into_1mib_k4_ms})`, (results.decode_into_1mib_k4_ms as number) <= 0.6)
target(`decode_1mib_k32_ms <= 5 (${results.decode_1mib_k32_ms})`, (results.decode_1mib_k32_ms as number) <= 5)
results.total_s = Math.round((performance.now() - started) / 100) / 10
results.loadavg_1m_end = Math.round(loadavg()[0] * 100) / 100
console.log(`total ${results.total_s} s, 1-minute load average ${results.loadavg_1m_start} → ${results.loadavg_1m_end}`)
console.log(JSON.stringify(results))
