import { OptimumError } from '../../common/errors.js'
import { MESSAGE_ID_PATTERN } from './engine.js'

/**
 * What any publish or subscribe must satisfy, whichever edge it came through.
 * The sidecar checks early (a clear error per request); engines check again,
 * since they are the last line before the network.
 */

/** Topic names end up in logs, metrics labels and Redis keys. */
export const MAX_TOPIC_BYTES = 256

export function assertTopic(topic: string): void {
  if (topic.length === 0) throw new OptimumError('invalid_argument', 'topic is missing')
  const bytes = Buffer.byteLength(topic)
  if (bytes > MAX_TOPIC_BYTES) {
    throw new OptimumError('invalid_argument', `topic is ${bytes} bytes long; the limit is ${MAX_TOPIC_BYTES} bytes`)
  }
  if (/[\u0000-\u001f\u007f]/.test(topic)) throw new OptimumError('invalid_argument', 'topic contains control characters')
}

export function assertMessageSize(data: Uint8Array, maxMessageSize: number): void {
  if (data.length > maxMessageSize) {
    throw new OptimumError('too_large', `message is ${data.length} bytes; the limit is ${maxMessageSize} bytes`)
  }
}

export function assertMessageId(id: string): void {
  if (!MESSAGE_ID_PATTERN.test(id)) {
    throw new OptimumError('invalid_argument', 'message_id must be 1 to 128 printable ASCII characters without spaces')
  }
}
