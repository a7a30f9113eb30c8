import { invalid, requireK } from './errors.js'

/**
 * A message travels as a frame: a 4-byte big-endian length, the message, then
 * zeros up to k·shardLength bytes, cut into k fragments of shardLength bytes.
 * The length makes the padding removable; the empty message is allowed (a
 * frame of just the length). shardLength is a pure function of (length, k),
 * so a decoded frame whose length disagrees with it is corrupt.
 */
export const PREFIX_BYTES = 4
/** The length prefix is 32 bits; wasm32 memory runs out well before. */
export const MAX_MESSAGE_BYTES = 0xffffffff - PREFIX_BYTES

export function shardLengthFor(messageLength: number, k: number): number {
  requireK(k)
  if (!Number.isInteger(messageLength) || messageLength < 0 || messageLength > MAX_MESSAGE_BYTES) {
    throw invalid(`message length must be an integer in 0..${MAX_MESSAGE_BYTES}, got ${messageLength}`)
  }
  return Math.ceil((messageLength + PREFIX_BYTES) / k)
}

/** Copies bytes [from, from + len) of `message`'s frame into target[offset...]: one fragment, or any slice. */
export function copyFrameSlice(message: Uint8Array, from: number, len: number, target: Uint8Array, offset: number): void {
  const end = from + len
  for (let i = from; i < Math.min(end, PREFIX_BYTES); i++) {
    target[offset + i - from] = (message.length >>> (8 * (PREFIX_BYTES - 1 - i))) & 0xff
  }
  const bodyEnd = PREFIX_BYTES + message.length
  const start = Math.max(from, PREFIX_BYTES)
  if (start < Math.min(end, bodyEnd)) {
    target.set(message.subarray(start - PREFIX_BYTES, Math.min(end, bodyEnd) - PREFIX_BYTES), offset + start - from)
  }
  const padding = Math.max(from, bodyEnd)
  if (padding < end) target.fill(0, offset + padding - from, offset + len)
}

/**
 * The message inside a decoded frame, read from its k fragments (each
 * shardLength bytes) into a fresh array. Throws if the frame cannot have come
 * from an encoder: decoded bytes are only as honest as the shards were.
 */
export function unframe(k: number, shardLength: number, fragment: (index: number) => Uint8Array): Uint8Array {
  return unframeInto(k, shardLength, fragment, (length) => new Uint8Array(length))
}

/**
 * Like unframe, but the message goes into the array `target(length)` returns
 * (at least `length` bytes; a pooled buffer, so a large message does not cost
 * a fresh allocation and its page faults), and the result is its first
 * `length` bytes. The frame is checked before `target` is asked for.
 */
export function unframeInto(
  k: number,
  shardLength: number,
  fragment: (index: number) => Uint8Array,
  target: (length: number) => Uint8Array,
): Uint8Array {
  const size = k * shardLength
  // Copies frame bytes [from, to) into out[at...], or checks they are zero when out is undefined.
  const read = (from: number, to: number, out: Uint8Array | undefined, at: number): boolean => {
    while (from < to) {
      const index = Math.floor(from / shardLength)
      const start = from - index * shardLength
      const end = Math.min(shardLength, start + to - from)
      const bytes = fragment(index).subarray(start, end)
      if (out !== undefined) out.set(bytes, at)
      else if (bytes.some((b) => b !== 0)) return false
      at += end - start
      from += end - start
    }
    return true
  }
  if (size < PREFIX_BYTES) throw invalid(`a frame of ${size} bytes cannot hold a length`)
  const prefix = new Uint8Array(PREFIX_BYTES)
  read(0, PREFIX_BYTES, prefix, 0)
  const length = ((prefix[0] << 24) | (prefix[1] << 16) | (prefix[2] << 8) | prefix[3]) >>> 0
  if (length > size - PREFIX_BYTES || shardLengthFor(length, k) !== shardLength) {
    throw invalid(`corrupt frame: length ${length} does not fit k=${k} fragments of ${shardLength} bytes`)
  }
  if (!read(PREFIX_BYTES + length, size, undefined, 0)) throw invalid('corrupt frame: non-zero padding')
  const out = target(length)
  if (out.length < length) throw invalid(`decode target holds ${out.length} bytes, the message has ${length}`)
  read(PREFIX_BYTES, PREFIX_BYTES + length, out, 0)
  return out.subarray(0, length)
}
