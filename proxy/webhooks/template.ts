import { OptimumError } from '../../common/errors.js'

/** What a webhook body can say about one delivery (mump2p-cli's --webhook-schema names). */
export interface WebhookFields {
  Message: string
  Topic: string
  ClientID: string
  MessageID: string
  /** Unix milliseconds of the delivery. */
  Timestamp: number
}

export interface WebhookBody {
  body: Buffer
  contentType: string
}

const MAX_TEMPLATE_BYTES = 16 * 1024
const PLACEHOLDER = /\{\{\s*\.(\w+)\s*\}\}/g
const NAMES = new Set<string>(['Message', 'Topic', 'ClientID', 'MessageID', 'Timestamp'])

/** A template as a client sends it: bounded, and naming only the placeholders there are. */
export function assertTemplate(template: string): void {
  if (Buffer.byteLength(template) > MAX_TEMPLATE_BYTES) throw new OptimumError('invalid_argument', `webhook_schema is longer than ${MAX_TEMPLATE_BYTES} bytes`)
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (!NAMES.has(name!)) throw new OptimumError('invalid_argument', `webhook_schema names {{.${name}}}; known: ${[...NAMES].map((n) => `{{.${n}}}`).join(' ')}`)
  }
}

/**
 * The POST body of one delivery. With a template, placeholders are replaced —
 * JSON-escaped when the template is JSON (`{"content":"{{.Message}}"}` stays
 * valid JSON whatever the message says). Without one, a JSON object like the
 * WebSocket frames, `message` in base64.
 */
export function renderBody(template: string | undefined, fields: WebhookFields, data: Uint8Array): WebhookBody {
  if (template === undefined || template === '') {
    const body = {
      client_id: fields.ClientID,
      topic: fields.Topic,
      message_id: fields.MessageID,
      message: Buffer.from(data).toString('base64'),
      timestamp: fields.Timestamp,
    }
    return { body: Buffer.from(JSON.stringify(body)), contentType: 'application/json' }
  }
  const json = isJsonTemplate(template)
  const text = template.replace(PLACEHOLDER, (_, name: keyof WebhookFields) => {
    const value = String(fields[name])
    return json ? JSON.stringify(value).slice(1, -1) : value
  })
  return { body: Buffer.from(text), contentType: json ? 'application/json' : 'text/plain; charset=utf-8' }
}

/** JSON once its placeholders are filled (with a value that fits both inside and outside strings). */
function isJsonTemplate(template: string): boolean {
  try {
    JSON.parse(template.replace(PLACEHOLDER, '0'))
    return true
  } catch {
    return false
  }
}
