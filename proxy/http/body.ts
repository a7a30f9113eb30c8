import type { IncomingMessage } from 'node:http'
import { OptimumError } from '../../common/errors.js'

/** The phrase both published API generations use for a body that is not a JSON object. */
export const INVALID_JSON = 'invalid JSON'

/**
 * Reads a request body of at most `limit` bytes and parses it as a JSON
 * object. A larger body is refused as soon as it passes the limit (413),
 * without buffering the rest; anything but a JSON object is `invalid JSON`.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit)
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) {
        chunks.push(chunk)
        return
      }
      // Keep reading (and discarding) so the 413 can be written; the route closes the connection after it.
      req.off('data', onData)
      req.resume()
      reject(tooLarge(limit))
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.once('error', reject)
  })
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new OptimumError('invalid_argument', INVALID_JSON)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OptimumError('invalid_argument', `${INVALID_JSON}: expected an object`)
  }
  return value as Record<string, unknown>
}

function tooLarge(limit: number): OptimumError {
  return new OptimumError('too_large', `request body is larger than ${limit} bytes`)
}
