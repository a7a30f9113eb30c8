import type * as grpc from '@grpc/grpc-js'

type SendMessage = (message: unknown, callback: () => void) => void
type WriteCallback = (error?: Error | null) => void

/**
 * Lets a grpc-js server stream send several messages per event-loop turn.
 *
 * grpc-js (1.14) server streams implement only `_write`: a message goes to
 * the HTTP/2 stream, and the next one only after the previous write has
 * completed, which takes one trip through the event loop. Per stream the node
 * then sends at most about one message per loop turn, while it reads incoming
 * publishes by the socket-full. Under load a subscriber stream falls behind
 * although its client reads as fast as it can.
 *
 * This gives the stream a `_writev`: when writes have piled up behind one in
 * progress, Node's Writable hands them over together and they all go to the
 * HTTP/2 stream at once (one socket write, in order). It uses the call object
 * grpc-js keeps in the stream's `call` field; when that is missing (another
 * grpc-js version), nothing changes and false is returned. Only for servers
 * without interceptors, as the sidecar's is.
 */
export function enableBatchedWrites(stream: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): boolean {
  const inner = (stream as unknown as { call?: { sendMessage?: unknown } }).call
  if (inner === undefined || typeof inner.sendMessage !== 'function') return false
  const sendMessage = (inner.sendMessage as SendMessage).bind(inner)
  const writable = stream as unknown as { _writev?: (chunks: { chunk: unknown }[], callback: WriteCallback) => void }
  writable._writev = (chunks, callback) => {
    let pending = chunks.length
    for (const { chunk } of chunks) {
      sendMessage(chunk, () => {
        if (--pending === 0) callback()
      })
    }
  }
  return true
}
