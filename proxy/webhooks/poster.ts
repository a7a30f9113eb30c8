import http from 'node:http'
import https from 'node:https'
import { isOptimumError } from '../../common/errors.js'
import type { WebhookBody } from './template.js'
import { port, type WebhookUrlGuard } from './url-guard.js'

export type PostOutcome = { ok: true; status: number } | { ok: false; retry: boolean; reason: string }

/**
 * One POST of one delivery: bounded by `timeoutMs`, no redirects followed,
 * the answer's body discarded. 2xx is success; 408, 429, 5xx and network
 * errors are worth retrying; other statuses, and refused targets, are not.
 */
export function postOnce(guard: WebhookUrlGuard, url: URL, body: WebhookBody, timeoutMs: number): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let settled = false
    const done = (outcome: PostOutcome) => {
      if (settled) return
      settled = true
      resolve(outcome)
    }
    try {
      guard.parse(url.href) // a literal address is checked here; names at connect time through `lookup`
    } catch (err) {
      return done({ ok: false, retry: false, reason: (err as Error).message })
    }
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { 'content-type': body.contentType, 'content-length': body.body.length, 'user-agent': 'optimum-proxy-webhook' },
      lookup: guard.lookupFor(port(url)),
      signal: AbortSignal.timeout(timeoutMs),
    })
    request.on('response', (response) => {
      response.resume()
      const status = response.statusCode ?? 0
      if (status >= 200 && status < 300) done({ ok: true, status })
      else done({ ok: false, retry: status === 408 || status === 429 || status >= 500, reason: `answered HTTP ${status}` })
    })
    request.on('error', (err) => {
      const refused = isOptimumError(err) // the guard's refusal, from `lookup`
      done({ ok: false, retry: !refused, reason: err.name === 'AbortError' || err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : err.message })
    })
    request.end(body.body)
  })
}
