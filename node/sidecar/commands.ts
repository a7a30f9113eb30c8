import { OptimumError } from '../../common/errors.js'
import { Command, ResponseType, type PublishRequest, type SidecarRequest, type SidecarResponse } from '../../common/proto.js'
import { MESSAGE_ID_PATTERN } from '../pubsub/engine.js'

/** Longest topic name the sidecar accepts, in UTF-8 bytes (topics end up in logs, metrics labels and Redis keys). */
export const MAX_TOPIC_BYTES = 256

/** A stream request after validation. */
export type StreamCommand =
  | { kind: 'publish'; topic: string; data: Buffer }
  | { kind: 'subscribe'; topic: string; trace: boolean }
  | { kind: 'unsubscribe'; topic: string }

export function validateTopic(topic: string): void {
  if (topic.length === 0) throw new OptimumError('invalid_argument', 'topic is missing')
  const bytes = Buffer.byteLength(topic)
  if (bytes > MAX_TOPIC_BYTES) {
    throw new OptimumError('invalid_argument', `topic is ${bytes} bytes long; the limit is ${MAX_TOPIC_BYTES} bytes`)
  }
}

export function validateMessageSize(data: Uint8Array, maxMessageSize: number): void {
  if (data.length > maxMessageSize) {
    throw new OptimumError(
      'too_large',
      `message is ${data.length} bytes; the limit is ${maxMessageSize} bytes (OPTIMUM_MAX_MSG_SIZE)`,
    )
  }
}

/** Checks a `ListenCommands` request; throws OptimumError('invalid_argument' | 'too_large') with a sentence for the client. */
export function parseStreamRequest(request: SidecarRequest, maxMessageSize: number): StreamCommand {
  const topic = request.topic ?? ''
  switch (request.command) {
    case Command.Publish: {
      validateTopic(topic)
      const data = request.data ?? Buffer.alloc(0)
      validateMessageSize(data, maxMessageSize)
      return { kind: 'publish', topic, data }
    }
    case Command.Subscribe:
      validateTopic(topic)
      return { kind: 'subscribe', topic, trace: request.trace === true }
    case Command.Unsubscribe:
      validateTopic(topic)
      return { kind: 'unsubscribe', topic }
    default:
      throw new OptimumError(
        'invalid_argument',
        `unknown command ${request.command} (expected 1 publish, 2 subscribe or 3 unsubscribe)`,
      )
  }
}

/** Checks a unary `Publish` request; returns the id to publish under (undefined: the node chooses). */
export function parsePublishRequest(request: PublishRequest, maxMessageSize: number): string | undefined {
  validateTopic(request.topic ?? '')
  validateMessageSize(request.data ?? Buffer.alloc(0), maxMessageSize)
  const id = request.message_id ?? ''
  if (id === '') return undefined
  if (!MESSAGE_ID_PATTERN.test(id)) {
    throw new OptimumError('invalid_argument', 'message_id must be 1 to 128 printable ASCII characters without spaces')
  }
  return id
}

/** The JSON in an error response's `data`. */
export interface StreamErrorJson {
  error: string
  code: string
  command: number
  topic: string
}

/**
 * The error response of a stream: `Response{command: Unknown (0), data: JSON
 * {"error","code","command","topic"}}`. Published clients ignore type 0, so
 * it is safe to send to any of them; the stream stays open.
 */
export function errorResponse(error: OptimumError, request: Pick<SidecarRequest, 'command' | 'topic'>): SidecarResponse {
  const json: StreamErrorJson = {
    error: error.message,
    code: error.code,
    command: request.command,
    topic: request.topic ?? '',
  }
  return { command: ResponseType.Unknown, data: Buffer.from(JSON.stringify(json)) }
}
