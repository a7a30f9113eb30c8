import { Uint8ArrayList } from 'uint8arraylist'

/** A varint of up to 5 bytes covers any frame cap below 32 GiB. */
const MAX_PREFIX_BYTES = 5

/** The peer announced a frame over the cap, or a length that is not a varint of at most 5 bytes. */
export class FrameTooLargeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FrameTooLargeError'
  }
}

/**
 * Cuts a byte stream into varint-length-prefixed frames as the bytes arrive.
 * It holds at most one partial frame (never more than the cap plus one chunk),
 * so a caller that handles the returned frames synchronously needs no other
 * buffer: a slow reader slows the socket, not the heap.
 */
export class FrameReader {
  private readonly buffer = new Uint8ArrayList()

  constructor(private readonly maxFrameBytes: number) {}

  /** Appends bytes; returns every frame now complete, in order. Throws FrameTooLargeError. */
  push(chunk: Uint8Array | Uint8ArrayList): Uint8Array[] {
    this.buffer.append(chunk)
    const frames: Uint8Array[] = []
    for (;;) {
      const prefix = this.prefix()
      if (prefix === undefined) break
      const [length, prefixBytes] = prefix
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(`frame of ${length} bytes announced; the limit is ${this.maxFrameBytes}`)
      if (this.buffer.byteLength < prefixBytes + length) break
      frames.push(this.buffer.subarray(prefixBytes, prefixBytes + length))
      this.buffer.consume(prefixBytes + length)
    }
    return frames
  }

  /** The next frame's [length, prefix bytes], or undefined while the prefix is incomplete. */
  private prefix(): [number, number] | undefined {
    let value = 0
    for (let i = 0; i < MAX_PREFIX_BYTES; i++) {
      if (i >= this.buffer.byteLength) return undefined
      const byte = this.buffer.get(i)
      value += (byte & 0x7f) * 2 ** (7 * i)
      if ((byte & 0x80) === 0) return [value, i + 1]
    }
    throw new FrameTooLargeError('frame length prefix is longer than 5 bytes')
  }
}
