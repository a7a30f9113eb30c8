#!/usr/bin/env node
// Container health check: `node healthcheck.mjs <PORT_VARIABLE> <default port>` exits 0 when
// GET /api/v1/health on that port answers {"status":"ok"}. Plain JavaScript, so a check
// does not pay for TypeScript loading every few seconds.
const [variable, fallback] = process.argv.slice(2)
const port = (process.env[variable ?? ''] || fallback || '').replace(/^:/, '')
try {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/health`, { signal: AbortSignal.timeout(2500) })
  const body = await response.json()
  process.exit(response.ok && body.status === 'ok' ? 0 : 1)
} catch {
  process.exit(1)
}
