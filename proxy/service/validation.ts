import { OptimumError } from '../../common/errors.js'

/**
 * Limits on what clients name, whichever edge (REST, WebSocket, gRPC) they
 * come through: ids and topics end up in Redis keys, logs and metric labels.
 */
export const MAX_TOPIC_BYTES = 256
export const MAX_CLIENT_ID_BYTES = 256
/** Topics one Subscribe call may name. */
export const MAX_TOPICS_PER_REQUEST = 100

const CONTROL = /[\u0000-\u001f\u007f]/

function assertName(what: string, value: string, max: number): void {
  const bytes = Buffer.byteLength(value)
  if (bytes > max) throw new OptimumError('invalid_argument', `${what} is ${bytes} bytes long; the limit is ${max} bytes`)
  if (CONTROL.test(value)) throw new OptimumError('invalid_argument', `${what} contains control characters`)
}

/** Empty ids and topics get the current API's phrases (the REST routes check first, with their generation's). */
export function assertClientId(clientId: string): void {
  if (clientId === '') throw new OptimumError('invalid_argument', 'missing client ID')
  assertName('client_id', clientId, MAX_CLIENT_ID_BYTES)
}

export function assertTopicName(topic: string): void {
  if (topic === '') throw new OptimumError('invalid_argument', 'missing topic')
  assertName('topic', topic, MAX_TOPIC_BYTES)
}

export function assertThreshold(threshold: number): void {
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    throw new OptimumError('invalid_argument', 'threshold must be a number from 0 to 1')
  }
}

export function assertMessageSize(size: number, maxMessageSize: number): void {
  if (size > maxMessageSize) throw new OptimumError('too_large', `message is ${size} bytes; the limit is ${maxMessageSize} bytes`)
}

