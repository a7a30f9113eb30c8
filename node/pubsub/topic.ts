import { OptimumError } from '../../common/errors.js'

/** Topic names are what clients type and what lands in logs, metrics labels and Redis keys. */
const MAX_TOPIC_BYTES = 256

export function assertTopic(topic: string): void {
  if (topic.length === 0) throw new OptimumError('invalid_argument', 'topic is missing')
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) {
    throw new OptimumError('invalid_argument', `topic is longer than ${MAX_TOPIC_BYTES} bytes`)
  }
  if (/[\u0000-\u001f\u007f]/.test(topic)) throw new OptimumError('invalid_argument', 'topic contains control characters')
}
