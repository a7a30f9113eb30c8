import { OptimumError, type ErrorCode } from '../../common/errors.js'
import { Command, ResponseType, type PublishRequest, type SidecarRequest, type SidecarResponse } from '../../common/proto.js'
import { assertMessageId, assertMessageSize, assertTopic } from '../pubsub/validation.js'

/** A stream request after validation. */
export type StreamCommand =
  | { kind: 'publish'; topic: string; data: Buffer }
  | { kind: 'subscribe'; topic: string; trace: boolean }
  | { kind: 'unsubscribe'; topic: string }

/** Checks a `ListenCommands` request; throws OptimumError('invalid_argument' | 'too_large') with a sentence for the client. */
export function parseStreamRequest(request: SidecarRequest, maxMessageSize: number): StreamCommand {
  const topic = request.topic ?? ''
  switch (request.command) {
    case Command.Publish: {
      assertTopic(topic)
      const data = request.data ?? Buffer.alloc(0)
      assertMessageSize(data, maxMessageSize)
      return { kind: 'publish', topic, data }
    }
    case Command.Subscribe:
      assertTopic(topic)
      return { kind: 'subscribe', topic, trace: request.trace === true }
    case Command.Unsubscribe:
      assertTopic(topic)
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
  assertTopic(request.topic ?? '')
  assertMessageSize(request.data ?? Buffer.alloc(0), maxMessageSize)
  const id = request.message_id ?? ''
  if (id === '') return undefined
  assertMessageId(id)
  return id
}

/**
 * Stream error codes that differ from the OptimumError code: a publish whose
 * id the node has seen with another body is a `conflict` (the unary Publish
 * says ALREADY_EXISTS).
 */
const STREAM_ERROR_CODES: Partial<Record<ErrorCode, string>> = { already_exists: 'conflict' }

/** The JSON in an error response's `data`. */
export interface StreamErrorJson {
  error: string
  /** An OptimumError code, except that 'already_exists' reads `conflict` here (see STREAM_ERROR_CODES). */
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
    code: STREAM_ERROR_CODES[error.code] ?? error.code,
    command: request.command,
    topic: request.topic ?? '',
  }
  return { command: ResponseType.Unknown, data: Buffer.from(JSON.stringify(json)) }
}
