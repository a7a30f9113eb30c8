import { RlncError } from './errors.js'

const PAGE = 65536
const ALIGN = 16
/** wasm32 addresses at most 4 GiB. */
const MAX_PAGES = 65536

interface Block {
  ptr: number
  size: number
}

/**
 * Allocator over one WebAssembly.Memory: the codec's rows live here so the
 * kernel works in place, and JS copies bytes only at the API boundary.
 *
 * Best fit over an address-ordered free list that coalesces neighbours, so a
 * node that keeps creating and disposing codecs reuses the same bytes: memory
 * grows to the peak of live allocations (plus fragmentation) and no further.
 * Wasm memory cannot shrink; freed space at the top is handed out again first.
 *
 * `owner` objects are watched by a FinalizationRegistry as a safety net: a
 * codec that is dropped without dispose() still gives its block back, after
 * the garbage collector notices. dispose() remains the contract.
 */
export class Heap {
  readonly memory: WebAssembly.Memory
  /** End of the highest live block; everything above is free. */
  private top: number
  private readonly free: Block[] = []
  private readonly live = new Map<number, { size: number; token: object }>()
  private readonly registry = new FinalizationRegistry<number>((ptr) => this.release(ptr))
  private u8view: Uint8Array
  private i32view: Int32Array
  private inUse = 0

  /** Bytes below `base` belong to the kernel (tables, argument area). */
  constructor(memory: WebAssembly.Memory, base: number) {
    if (base % ALIGN !== 0) throw new RlncError('internal', `heap base ${base} is not ${ALIGN}-aligned`)
    this.memory = memory
    this.top = base
    this.u8view = new Uint8Array(memory.buffer)
    this.i32view = new Int32Array(memory.buffer)
  }

  /**
   * The whole memory as bytes. Re-read after every alloc: growing detaches
   * the old buffer, which is what the length check notices (cheaper than
   * asking the memory for its buffer on every call).
   */
  get u8(): Uint8Array {
    if (this.u8view.length === 0) this.refreshViews()
    return this.u8view
  }

  get i32(): Int32Array {
    if (this.i32view.length === 0) this.refreshViews()
    return this.i32view
  }

  /** Bytes handed out and not yet released (after alignment). */
  get bytesInUse(): number {
    return this.inUse
  }

  /** Size of the underlying memory, which only ever grows. */
  get bytesReserved(): number {
    return this.memory.buffer.byteLength
  }

  /** A 16-byte aligned block of at least `size` bytes (contents undefined). */
  alloc(size: number, owner?: object): number {
    const need = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN)
    const ptr = this.takeFree(need) ?? this.takeTop(need)
    const token = {}
    this.live.set(ptr, { size: need, token })
    this.inUse += need
    if (owner !== undefined) this.registry.register(owner, ptr, token)
    return ptr
  }

  release(ptr: number): void {
    const entry = this.live.get(ptr)
    if (entry === undefined) throw new RlncError('internal', `heap: release of unknown block ${ptr}`)
    this.live.delete(ptr)
    this.registry.unregister(entry.token)
    this.inUse -= entry.size
    this.giveBack({ ptr, size: entry.size })
  }

  private takeFree(need: number): number | undefined {
    let best = -1
    for (let i = 0; i < this.free.length; i++) {
      const size = this.free[i].size
      if (size >= need && (best < 0 || size < this.free[best].size)) {
        best = i
        if (size === need) break
      }
    }
    if (best < 0) return undefined
    const block = this.free[best]
    const ptr = block.ptr
    if (block.size === need) this.free.splice(best, 1)
    else {
      block.ptr += need
      block.size -= need
    }
    return ptr
  }

  private takeTop(need: number): number {
    const ptr = this.top
    const end = ptr + need
    const have = this.memory.buffer.byteLength
    if (end > have) {
      const pages = this.memory.buffer.byteLength / PAGE
      // Grow by at least an eighth so a run of small allocations does not grow page by page.
      const wanted = Math.max(Math.ceil((end - have) / PAGE), Math.ceil(pages / 8))
      const grow = Math.min(wanted, MAX_PAGES - pages)
      if (pages + grow < Math.ceil(end / PAGE)) throw this.exhausted(need)
      try {
        this.memory.grow(grow)
      } catch {
        throw this.exhausted(need)
      }
    }
    this.top = end
    return ptr
  }

  private giveBack(block: Block): void {
    const free = this.free
    let lo = 0
    let hi = free.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (free[mid].ptr < block.ptr) lo = mid + 1
      else hi = mid
    }
    // lo is where the block goes; merge with the free neighbours it touches.
    const before = lo > 0 ? free[lo - 1] : undefined
    const after = lo < free.length ? free[lo] : undefined
    if (before !== undefined && before.ptr + before.size === block.ptr) {
      before.size += block.size
      if (after !== undefined && before.ptr + before.size === after.ptr) {
        before.size += after.size
        free.splice(lo, 1)
      }
      this.lowerTop()
      return
    }
    if (after !== undefined && block.ptr + block.size === after.ptr) {
      after.ptr = block.ptr
      after.size += block.size
      return
    }
    free.splice(lo, 0, block)
    this.lowerTop()
  }

  /** A free block that ends at the top is just unused top: fold it back. */
  private lowerTop(): void {
    const last = this.free[this.free.length - 1]
    if (last !== undefined && last.ptr + last.size === this.top) {
      this.top = last.ptr
      this.free.pop()
    }
  }

  private exhausted(need: number): RlncError {
    return new RlncError(
      'resource_exhausted',
      `rlnc: cannot allocate ${need} bytes: ${this.inUse} in use, wasm memory is limited to 4 GiB`,
    )
  }

  private refreshViews(): void {
    this.u8view = new Uint8Array(this.memory.buffer)
    this.i32view = new Int32Array(this.memory.buffer)
  }
}

/**
 * `count` rows of `length` bytes in one block, each row 16-byte aligned so the
 * kernels step whole words and vectors through every row. Release with
 * heap.release(rows[0]).
 */
export function allocRows(heap: Heap, count: number, length: number, owner: object): Uint32Array {
  const stride = Math.ceil(length / ALIGN) * ALIGN
  const base = heap.alloc(count * stride, owner)
  return Uint32Array.from({ length: count }, (_, i) => base + i * stride)
}
