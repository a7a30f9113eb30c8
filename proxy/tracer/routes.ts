import type Router from '@koa/router'
import type { ClusterTracer } from './tracer.js'
import { parseWindow } from './window.js'

/** The published tracer routes, read by `mump2p-cli tracer dashboard` (and `tracer reset`). */
export function addTracerRoutes(router: Router, tracer: Pick<ClusterTracer, 'snapshot' | 'reset'>): void {
  router.get('/api/v1/tracer/stream', async (ctx) => {
    const window = ctx.query.window
    ctx.body = await tracer.snapshot(parseWindow(typeof window === 'string' ? window : undefined))
  })
  router.get('/api/v1/tracer/reset', async (ctx) => {
    await tracer.reset()
    ctx.body = { status: 'reset' }
  })
}
