import { invalid, requireBytes, requireCount, requireK } from './errors.js'
import { copyFrameSlice, shardLengthFor } from './framing.js'
import { allocRows } from './heap.js'
import type { Kernel } from './kernel.js'
import { cryptoRandomBytes, fillNonZero, type CodecOptions, type RandomBytes } from './random.js'
import { MAX_SHARDS_PER_CALL, type CodedShard } from './shard.js'

/**
 * Splits one message into k fragments held in the kernel's heap and makes
 * coded shards from them on demand, as many as asked, for as long as it lives.
 * Every coefficient is drawn uniformly from 1..255, so every shard mixes every
 * fragment and no coefficient vector is zero.
 *
 * Holds k × shardLength bytes of heap until dispose().
 */
export class Encoder {
  readonly k: number
  readonly messageLength: number
  readonly shardLength: number
  private readonly kernel: Kernel
  private readonly random: RandomBytes
  private rows: Uint32Array | undefined

  constructor(kernel: Kernel, message: Uint8Array, k: number, options: CodecOptions = {}) {
    requireBytes(message, 'message')
    requireK(k)
    this.k = k
    this.messageLength = message.length
    this.shardLength = shardLengthFor(message.length, k)
    this.kernel = kernel
    this.random = options.random ?? cryptoRandomBytes
    const rows = allocRows(kernel.heap, k, this.shardLength, this)
    const heap = kernel.heap.u8
    for (let i = 0; i < k; i++) copyFrameSlice(message, i * this.shardLength, this.shardLength, heap, rows[i])
    this.rows = rows
  }

  /** `count` fresh coded shards with independent random coefficients. */
  encode(count: number): CodedShard[] {
    const rows = this.open()
    requireCount(count, 'shard count', 0, MAX_SHARDS_PER_CALL)
    const k = this.k
    const coefficients = new Uint8Array(count * k)
    fillNonZero(coefficients, this.random)
    const shards: CodedShard[] = []
    for (let j = 0; j < count; j++) {
      const mix = coefficients.slice(j * k, (j + 1) * k)
      const payload = new Uint8Array(this.shardLength)
      this.kernel.combineInto(payload, rows, mix, k)
      shards.push({ coefficients: mix, payload })
    }
    return shards
  }

  /** Gives the heap back; the encoder is unusable afterwards. Idempotent. */
  dispose(): void {
    if (this.rows === undefined) return
    this.kernel.heap.release(this.rows[0])
    this.rows = undefined
  }

  private open(): Uint32Array {
    if (this.rows === undefined) throw invalid('the encoder is disposed')
    return this.rows
  }
}
