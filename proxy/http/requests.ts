import { randomBytes } from 'node:crypto'
import { OptimumError } from '../../common/errors.js'
import type { PublishInput } from '../service/client-api.js'
import type { WebhookSpec } from '../webhooks/subscriptions.js'
import type { RouteFamily } from './families.js'

type Body = Record<string, unknown>

/** A required string field: absent, null or empty → the family's phrase; another type → the phrase and why. */
function requiredString(body: Body, field: string, phrase: string): string {
  const value = body[field]
  if (value === undefined || value === null || value === '') throw new OptimumError('invalid_argument', phrase)
  if (typeof value !== 'string') throw new OptimumError('invalid_argument', `${phrase}: ${field} must be a string`)
  return value
}

export interface SubscribeBody {
  clientId: string
  topic: string
  threshold: number
}

export function parseSubscribe(body: Body, family: RouteFamily, defaultThreshold: number): SubscribeBody {
  const clientId = requiredString(body, 'client_id', family.missing.clientId)
  const topic = requiredString(body, 'topic', family.missing.topic)
  const raw = body.threshold
  if (raw !== undefined && raw !== null && (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || raw > 1)) {
    throw new OptimumError('invalid_argument', 'threshold must be a number from 0 to 1')
  }
  return { clientId, topic, threshold: typeof raw === 'number' ? raw : defaultThreshold }
}

/** A subscribe's optional `webhook` URL and `webhook_schema` body template (mump2p-cli --webhook, --webhook-schema). */
export function parseWebhook(body: Body): WebhookSpec | undefined {
  const { webhook: url, webhook_schema: template } = body
  if (url === undefined || url === null || url === '') {
    if (template !== undefined && template !== null && template !== '') throw new OptimumError('invalid_argument', 'webhook_schema needs a webhook URL')
    return undefined
  }
  if (typeof url !== 'string') throw new OptimumError('invalid_argument', 'webhook must be a URL string')
  if (template !== undefined && template !== null && typeof template !== 'string') throw new OptimumError('invalid_argument', 'webhook_schema must be a string')
  return { url, ...(typeof template === 'string' && template !== '' ? { template } : {}) }
}

export function parseUnsubscribe(body: Body, family: RouteFamily): { clientId: string; topic: string } {
  return {
    clientId: requiredString(body, 'client_id', family.missing.clientId),
    topic: requiredString(body, 'topic', family.missing.topic),
  }
}

/**
 * A publish body: `message` (text, sent as its UTF-8 bytes) or
 * `message_length` (that many random bytes, for load tests), and an optional
 * `timestamp` in milliseconds that makes a retried request idempotent.
 */
export function parsePublish(body: Body, family: RouteFamily, maxMessageSize: number): PublishInput {
  const clientId = requiredString(body, 'client_id', family.missing.clientId)
  const topic = requiredString(body, 'topic', family.missing.topic)
  const input: PublishInput = { clientId, topic, data: publishData(body, family, maxMessageSize) }
  const timestamp = body.timestamp
  if (timestamp !== undefined && timestamp !== null) {
    if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new OptimumError('invalid_argument', 'timestamp must be a whole number of milliseconds')
    }
    input.timestamp = timestamp
  }
  return input
}

function publishData(body: Body, family: RouteFamily, maxMessageSize: number): Buffer {
  const { message, message_length: length } = body
  if (message !== undefined && message !== null && message !== '') {
    if (typeof message !== 'string') throw new OptimumError('invalid_argument', `${family.missing.message}: message must be a string`)
    return Buffer.from(message, 'utf8')
  }
  if (length === undefined || length === null) throw new OptimumError('invalid_argument', family.missing.message)
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1) {
    throw new OptimumError('invalid_argument', 'message_length must be a whole number of bytes, at least 1')
  }
  if (length > maxMessageSize) throw new OptimumError('too_large', `message_length is ${length}; the limit is ${maxMessageSize} bytes`)
  return randomBytes(length)
}
