import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type Router from '@koa/router'
import type { LiveFeed } from './feed.js'

const require = createRequire(import.meta.url)
const page = (name: string) => readFileSync(new URL(`./page/${name}`, import.meta.url))
/** The browser builds of the two libraries, straight from node_modules: no build step, no CDN. */
const library = (pkg: string, file: string) => readFileSync(join(dirname(require.resolve(pkg)), file))

interface Asset {
  type: string
  body: Buffer
}

function assets(): Record<string, Asset> {
  return {
    'index.html': { type: 'text/html; charset=utf-8', body: page('index.html') },
    'app.js': { type: 'text/javascript; charset=utf-8', body: page('app.js') },
    'style.css': { type: 'text/css; charset=utf-8', body: page('style.css') },
    'lib/cytoscape.min.js': { type: 'text/javascript; charset=utf-8', body: library('cytoscape', 'cytoscape.min.js') },
    'lib/chart.umd.min.js': { type: 'text/javascript; charset=utf-8', body: library('chart.js', 'chart.umd.min.js') },
  }
}

/** The live view: the page at `/` and `/ui/`, its files under `/ui/`, the feed at `/ui/events` (SSE) and `/ui/state` (one frame, JSON). */
export function addUiRoutes(router: Router, feed: LiveFeed): void {
  const files = assets()
  const serve = (name: string) => (ctx: { type: string; body: unknown; set(k: string, v: string): void }) => {
    const asset = files[name]!
    ctx.type = asset.type
    ctx.set('Cache-Control', 'no-cache')
    ctx.body = asset.body
  }
  router.get('/', serve('index.html'))
  router.get('/ui', (ctx) => ctx.redirect('/ui/'))
  router.get('/ui/', serve('index.html'))
  for (const name of Object.keys(files)) router.get(`/ui/${name}`, serve(name))
  router.get('/ui/state', async (ctx) => {
    ctx.body = await feed.frame()
  })
  router.get('/ui/events', (ctx) => {
    const stream = feed.open()
    if (stream === undefined) {
      ctx.status = 503
      ctx.body = { error: 'too many live views are open on this proxy; try another replica' }
      return
    }
    ctx.req.socket.setTimeout(0)
    ctx.req.on('close', () => stream.destroy())
    ctx.type = 'text/event-stream'
    ctx.set('Cache-Control', 'no-cache')
    ctx.set('X-Accel-Buffering', 'no')
    ctx.body = stream
    stream.write(': live view\n\n')
  })
}
