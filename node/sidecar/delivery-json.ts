import { ResponseType, type DeliveredMessageJson, type SidecarResponse } from '../../common/proto.js'
import type { DeliveredMessage } from '../pubsub/engine.js'

/**
 * The published JSON of a delivered message, as the Go clients unmarshal it:
 * `{"MessageID","Topic","Message","SourceNodeID"}` with `Message` the standard
 * (padded) base64 of the bytes, which is how Go's encoding/json writes []byte.
 */
export function encodeDeliveredJson(message: DeliveredMessage): Buffer {
  const json: DeliveredMessageJson = {
    MessageID: message.id,
    Topic: message.topic,
    Message: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('base64'),
    SourceNodeID: message.source,
  }
  return Buffer.from(JSON.stringify(json))
}

/** Responses built by `deliveredResponse`: shared by every stream, serialized once. */
const shared = new WeakSet<object>()

/**
 * The `Response{command: Message, data: JSON}` for one delivered message. The
 * server builds it once per message and writes the same (frozen) object to
 * every subscribed stream: fan-out is the hot path, so the base64 and JSON
 * work happens once, and so does the protobuf encoding (`shareSerialization`).
 */
export function deliveredResponse(message: DeliveredMessage): SidecarResponse {
  return markShared({ command: ResponseType.Message, data: encodeDeliveredJson(message) })
}

/** Freezes a response that goes to many streams and marks it for one serialization (`shareSerialization`). */
export function markShared(response: SidecarResponse): SidecarResponse {
  const frozen = Object.freeze(response)
  shared.add(frozen)
  return frozen
}

/**
 * Wraps a response serializer so that a shared response is encoded once and
 * its bytes reused for every stream it is written to (grpc-js copies the bytes
 * into its own frame, so handing out the same Buffer is safe). Other responses
 * go straight to `serialize`.
 */
export function shareSerialization(serialize: (value: SidecarResponse) => Buffer): (value: SidecarResponse) => Buffer {
  const encoded = new WeakMap<object, Buffer>()
  return (value) => {
    if (!shared.has(value)) return serialize(value)
    let bytes = encoded.get(value)
    if (bytes === undefined) {
      bytes = serialize(value)
      encoded.set(value, bytes)
    }
    return bytes
  }
}
