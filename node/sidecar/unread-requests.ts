import type { Readable } from 'node:stream'
import type * as grpc from '@grpc/grpc-js'

/**
 * What grpc-js (1.14) keeps of a server call's incoming side, as far as this
 * module reads it (server-interceptors.ts `BaseServerInterceptingCall`).
 */
interface InnerCall {
  /** The HTTP/2 stream; what it has received and grpc-js has not decoded yet sits in its Readable buffer. */
  stream: Readable
  /** Decoded frames not yet handed to the handler's stream, in order. */
  readQueue: Array<{ type: 'COMPRESSED' | 'READABLE' | 'HALF_CLOSE'; compressedMessage: Buffer | null; parsedMessage: unknown }>
  /** The gRPC frame decoder; it holds the start of a frame cut by the end of a data chunk. */
  decoder: { write(data: Buffer): Buffer[] }
  handler: { deserialize(bytes: Buffer): unknown }
}

/** Raw bytes are decoded this much at a time, so a large backlog is never decoded (and held as objects) all at once. */
const DECODE_SLICE = 64 * 1024

/**
 * Why this exists: grpc-js discards what a call has received but not yet
 * handed to the handler as soon as the call ends abnormally (RST_STREAM,
 * GOAWAY then a closed socket, a reset connection). Its reads are pull-based,
 * one message per `startRead`, so a handler that reads slower than a client
 * writes (the sidecar pauses a stream while publishes are in flight) always
 * has a backlog: requests decoded in grpc-js's read queue and, behind them,
 * bytes in the HTTP/2 stream's buffer (up to the stream's flow-control
 * window). When the call is cancelled grpc-js stops delivering, and then
 * resumes the HTTP/2 stream only to throw the bytes away.
 *
 * `takeUnreadRequests` must run from the handler stream's 'cancelled' event
 * (grpc-js emits it before it destroys that stream). It takes, in arrival
 * order, everything grpc-js still holds for the call: requests buffered in
 * the handler stream (they arrive through its 'data' listeners, as usual),
 * then the read queue, then the HTTP/2 stream's bytes. The latter are
 * decoded lazily, as the caller iterates, so a backlog of tiny requests costs
 * its bytes (at most one flow-control window), not an object each.
 *
 * Returns undefined when the grpc-js internals are not where this expects
 * them (another version): nothing is taken, grpc-js's behaviour is unchanged.
 * Compressed requests in the backlog (the published clients do not compress)
 * are skipped and counted in `skipped`.
 */
export function takeUnreadRequests<Req>(call: grpc.ServerDuplexStream<Req, unknown>): UnreadRequests<Req> | undefined {
  const inner = (call as unknown as { call?: Partial<InnerCall> }).call
  if (
    inner === undefined ||
    !Array.isArray(inner.readQueue) ||
    typeof inner.decoder?.write !== 'function' ||
    typeof inner.handler?.deserialize !== 'function' ||
    typeof inner.stream?.read !== 'function'
  ) {
    return undefined
  }
  // What the handler stream buffered goes to its 'data' listeners now, before grpc-js destroys it.
  while (call.read() !== null) {
    // each read() emitted 'data'
  }
  const queued = inner.readQueue.splice(0)
  // grpc-js has just called resume() to discard these bytes; pause first so that they stay for us.
  inner.stream.pause()
  const raw = inner.stream.read() as Buffer | null
  return new UnreadRequests<Req>(queued, raw ?? Buffer.alloc(0), inner as InnerCall)
}

/** The requests grpc-js had received for a call when it ended (iterate once). */
export class UnreadRequests<Req> implements Iterable<Req> {
  /** Compressed requests that were skipped. */
  skipped = 0
  private decoded: Buffer[] = []
  private next = 0
  private offset = 0

  constructor(
    private readonly queued: InnerCall['readQueue'],
    private readonly raw: Buffer,
    private readonly inner: InnerCall,
  ) {}

  *[Symbol.iterator](): Iterator<Req> {
    for (const entry of this.queued) {
      if (entry.type === 'READABLE') yield entry.parsedMessage as Req
      else if (entry.type === 'COMPRESSED' && entry.compressedMessage) {
        const request = this.parse(entry.compressedMessage)
        if (request !== undefined) yield request
      }
    }
    this.queued.length = 0
    for (;;) {
      const frame = this.nextFrame()
      if (frame === undefined) return
      const request = this.parse(frame)
      if (request !== undefined) yield request
    }
  }

  private nextFrame(): Buffer | undefined {
    while (this.next === this.decoded.length && this.offset < this.raw.length) {
      const end = Math.min(this.raw.length, this.offset + DECODE_SLICE)
      let frames: Buffer[]
      try {
        frames = this.inner.decoder.write(this.raw.subarray(this.offset, end))
      } catch {
        // a frame over the receive limit: grpc-js would have failed the call here too
        this.skipped++
        this.offset = this.raw.length
        return undefined
      }
      this.decoded = frames
      this.next = 0
      this.offset = end
    }
    return this.next < this.decoded.length ? this.decoded[this.next++] : undefined
  }

  /** A frame as the decoder returns it: 1 byte compressed flag, 4 bytes length, the message. */
  private parse(frame: Buffer): Req | undefined {
    if (frame.readUInt8(0) !== 0) {
      this.skipped++
      return undefined
    }
    try {
      return this.inner.handler.deserialize(frame.subarray(5)) as Req
    } catch {
      this.skipped++
      return undefined
    }
  }
}
