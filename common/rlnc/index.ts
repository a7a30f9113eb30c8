/**
 * RLNC codec over GF(2^8) (polynomial 0x11d). Usage:
 *
 *   const kernel = await loadKernel()              // once at start-up
 *   const enc = new Encoder(kernel, message, k)
 *   const shards = enc.encode(Math.ceil(k * 1.5)); enc.dispose()
 *
 *   const dec = new Decoder(kernel, k, shardLengthFor(message.length, k))
 *   for (const s of incoming) if (dec.add(s) && dec.complete) deliver(dec.decode())
 *   forward(dec.recode(2))                         // any rank ≥ 1
 *   dec.dispose()                                  // when the message state expires
 *
 * Encoders and decoders hold kernel heap until dispose(). See README.md.
 */
export { Decoder } from './decoder.js'
export { Encoder } from './encoder.js'
export { MAX_K, RlncError } from './errors.js'
export { MAX_MESSAGE_BYTES, shardLengthFor } from './framing.js'
export type { Heap } from './heap.js'
export type { Kernel, KernelName } from './kernel.js'
export { loadKernel, simdSupported, type LoadKernelOptions } from './kernel-loader.js'
export { cryptoRandomBytes, seededRandomBytes, type CodecOptions, type RandomBytes } from './random.js'
export { MAX_SHARDS_PER_CALL, type CodedShard } from './shard.js'
