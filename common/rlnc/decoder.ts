import { invalid, requireCount, requireK } from './errors.js'
import { unframeInto } from './framing.js'
import { INV, MUL } from './gf256.js'
import { allocRows } from './heap.js'
import type { Kernel } from './kernel.js'
import { cryptoRandomBytes, type CodecOptions, type RandomBytes } from './random.js'
import { recode } from './recoder.js'
import { checkCoefficients, checkShard, MAX_SHARDS_PER_CALL, type CodedShard } from './shard.js'

/**
 * Progressive decoder: Gaussian elimination as shards arrive, so the work is
 * spread over arrivals and decoding at rank k is one pass over the rows.
 *
 * The held rows are kept in reduced row echelon form: row r has a 1 at column
 * pivot[r] and every other row has a 0 there, so at rank k row r is fragment
 * pivot[r] and decode() only copies. The scaling to 1 happens in the same
 * pass that takes the payload into the heap.
 *
 * Innovation is decided on the coefficient vector alone (k bytes, in JS), so
 * a duplicate, a combination of held shards or a zero vector costs no payload
 * work. Shards come from untrusted peers: wrong sizes throw an RlncError
 * ('invalid_argument'), useless shards return false, and memory never exceeds
 * k rows of shardLength bytes in the heap (allocated on the first useful
 * shard) plus a k×k coefficient matrix.
 */
export class Decoder {
  readonly k: number
  readonly shardLength: number
  private readonly kernel: Kernel
  private readonly random: RandomBytes
  /** Row r's coefficients at [r·k, (r + 1)·k); rows beyond rank are unused. */
  private readonly coefficients: Uint8Array
  private readonly pivot: Uint8Array
  private held = 0
  private rows: Uint32Array | undefined
  private disposed = false
  // Scratch, reused by every call: the reduced vector and the per-row factors.
  private readonly reduced: Uint8Array
  private readonly factors: Uint8Array
  private readonly termRows: Uint32Array
  private readonly termCoefs: Uint8Array

  constructor(kernel: Kernel, k: number, shardLength: number, options: CodecOptions = {}) {
    requireK(k)
    requireCount(shardLength, 'shard length', 1, 2 ** 32)
    this.k = k
    this.shardLength = shardLength
    this.kernel = kernel
    this.random = options.random ?? cryptoRandomBytes
    this.coefficients = new Uint8Array(k * k)
    this.pivot = new Uint8Array(k)
    this.reduced = new Uint8Array(k)
    this.factors = new Uint8Array(k)
    this.termRows = new Uint32Array(k)
    this.termCoefs = new Uint8Array(k)
  }

  /** Number of independent shards held; the message decodes at rank k. */
  get rank(): number {
    return this.held
  }

  get complete(): boolean {
    return this.held === this.k
  }

  /** Whether a shard with these coefficients would raise the rank. */
  isInnovative(coefficients: Uint8Array): boolean {
    this.open()
    checkCoefficients(coefficients, this.k)
    return this.reduce(coefficients) >= 0
  }

  /**
   * Takes a shard if it raises the rank (returns true); otherwise (duplicate,
   * combination of held shards, zero vector, already complete) ignores it and
   * returns false. The shard's arrays are copied, never kept.
   */
  add(shard: CodedShard): boolean {
    this.open()
    checkShard(shard, this.k, this.shardLength)
    const pivot = this.reduce(shard.coefficients)
    if (pivot < 0) return false
    const rows = (this.rows ??= allocRows(this.kernel.heap, this.k, this.shardLength, this))
    const { k, shardLength: len, held, coefficients, reduced, factors, termRows, termCoefs } = this

    // Scale the reduced vector so its pivot is 1 ...
    const inverse = INV[reduced[pivot]] << 8
    for (let i = 0; i < k; i++) reduced[i] = MUL[inverse | reduced[i]]
    // ... and do to the payload what reduce() and the scaling did to the coefficients.
    let n = 0
    for (let r = 0; r < held; r++) {
      if (factors[r] === 0) continue
      termRows[n] = rows[r]
      termCoefs[n++] = MUL[inverse | factors[r]]
    }
    const row = rows[held]
    this.kernel.combineFrom(row, shard.payload, inverse >> 8, termRows, termCoefs, n)

    // Clear the new pivot column from the older rows.
    n = 0
    for (let r = 0; r < held; r++) {
      const at = r * k
      const g = coefficients[at + pivot]
      if (g === 0) continue
      const scale = g << 8
      for (let i = 0; i < k; i++) coefficients[at + i] ^= MUL[scale | reduced[i]]
      termRows[n] = rows[r]
      termCoefs[n++] = g
    }
    if (n > 0) this.kernel.scatter(row, termRows, termCoefs, n, len)

    coefficients.set(reduced, held * k)
    this.pivot[held] = pivot
    this.held++
    return true
  }

  /**
   * The message, once rank is k, in a fresh array. Throws an RlncError if the
   * decoded frame is inconsistent (only possible when a peer forged a payload).
   */
  decode(): Uint8Array {
    return this.decodeInto((length) => new Uint8Array(length))
  }

  /**
   * The message, once rank is k, written into the array `target(length)`
   * returns (at least `length` bytes, e.g. a pooled buffer) and returned as
   * its first `length` bytes. `target` may also be an array. Throws like
   * decode(); a forged frame is refused before `target` is asked for.
   */
  decodeInto(target: Uint8Array | ((length: number) => Uint8Array)): Uint8Array {
    this.open()
    if (!this.complete) throw invalid(`cannot decode at rank ${this.held} of ${this.k}`)
    const rowOf = new Uint32Array(this.k)
    for (let r = 0; r < this.k; r++) rowOf[this.pivot[r]] = this.rows![r]
    const heap = this.kernel.heap.u8
    const len = this.shardLength
    return unframeInto(this.k, len, (fragment) => heap.subarray(rowOf[fragment], rowOf[fragment] + len), typeof target === 'function' ? target : () => target)
  }

  /**
   * Once complete: whether `payload` is what the decoded fragments give for
   * these coefficients, i.e. whether a shard someone sent was honest. Lets a
   * node find, after a good decode, which peer's shards spoilt an earlier one.
   */
  matches(coefficients: Uint8Array, payload: Uint8Array): boolean {
    this.open()
    if (!this.complete) throw invalid(`cannot check shards at rank ${this.held} of ${this.k}`)
    checkShard({ coefficients, payload }, this.k, this.shardLength)
    const mix = new Uint8Array(this.k)
    for (let r = 0; r < this.k; r++) mix[r] = coefficients[this.pivot[r]]
    const expected = new Uint8Array(this.shardLength)
    this.kernel.combineInto(expected, this.rows!, mix, this.k)
    for (let i = 0; i < expected.length; i++) if (expected[i] !== payload[i]) return false
    return true
  }

  /** `count` fresh shards recoded from what is held (any rank ≥ 1), without decoding. */
  recode(count = 1): CodedShard[] {
    this.open()
    requireCount(count, 'shard count', 0, MAX_SHARDS_PER_CALL)
    if (this.held === 0) throw invalid('nothing to recode: no shard held yet')
    return recode(
      {
        kernel: this.kernel,
        k: this.k,
        shardLength: this.shardLength,
        count: this.held,
        coefficients: this.coefficients,
        payloads: this.rows!,
      },
      count,
      this.random,
    )
  }

  /** Gives the heap back; the decoder is unusable afterwards. Idempotent. */
  dispose(): void {
    if (this.rows !== undefined) this.kernel.heap.release(this.rows[0])
    this.rows = undefined
    this.disposed = true
  }

  /**
   * reduced = c ⊕ Σ factors[r]·row r, with factors chosen to clear every held
   * pivot column: factors[r] = c[pivot[r]], since each row is 1 at its own
   * pivot and 0 at the others'. Returns the first non-zero column of the
   * result (the new pivot), or -1 if c adds nothing.
   */
  private reduce(c: Uint8Array): number {
    const { k, held, coefficients, reduced, factors } = this
    if (held === k) return -1
    reduced.set(c)
    for (let r = 0; r < held; r++) {
      const f = c[this.pivot[r]]
      factors[r] = f
      if (f === 0) continue
      const scale = f << 8
      for (let i = 0, at = r * k; i < k; i++, at++) reduced[i] ^= MUL[scale | coefficients[at]]
    }
    return reduced.findIndex((x) => x !== 0)
  }

  private open(): void {
    if (this.disposed) throw invalid('the decoder is disposed')
  }
}
