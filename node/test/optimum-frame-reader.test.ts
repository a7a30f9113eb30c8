import { describe, expect, it } from 'vitest'
import { FrameReader, FrameTooLargeError } from '../optimum/frame-reader.js'
import { lengthPrefixed } from './support/hostile-peer.js'

describe('frame reader', () => {
  const frames = [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(300).fill(7), new Uint8Array(70_000).fill(9)]
  const stream = Buffer.concat(frames.map(lengthPrefixed))

  it.each([1, 2, 3, 127, 128, 4096, stream.length])('returns every frame, in order, whatever the chunk size (%i)', (chunk) => {
    const reader = new FrameReader(100_000)
    const out: Uint8Array[] = []
    for (let at = 0; at < stream.length; at += chunk) out.push(...reader.push(stream.subarray(at, at + chunk)))
    expect(out.map((f) => Buffer.from(f))).toEqual(frames.map((f) => Buffer.from(f)))
  })

  it('refuses a frame over the cap as soon as its length is known', () => {
    const reader = new FrameReader(1000)
    expect(() => reader.push(lengthPrefixed(new Uint8Array(1001)).subarray(0, 3))).toThrow(FrameTooLargeError)
  })

  it('refuses a length prefix longer than 5 bytes', () => {
    expect(() => new FrameReader(1000).push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))).toThrow(/5 bytes/)
  })
})
