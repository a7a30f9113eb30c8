import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { parseNodeConfig } from '../../common/config/index.js'
import { silentLogger } from '../../common/logger.js'
import type { VersionInfo } from '../../common/version.js'
import { percent } from '../api/format.js'
import { ApiServer, type ApiServerOptions } from '../api/server.js'
import { NodeMetrics } from '../metrics.js'
import { ListenError } from '../startup-failure.js'
import type { NodeView } from '../node-view.js'
import { SystemStats, type SystemUsage, type UsageSampler } from '../system-stats.js'

const SELF = '12D3KooWMwzQYKhRvLRsiKignZ2vAtkr1nPYiDWA7yeZvRqC9ST9'
const PEER_A = '12D3KooWDLm7bSFnoqP4mhoJminiCixbR2Lwyqu9sU5EDKVvXM5j'
const PEER_B = '12D3KooWJrPmTdXj9hirigHs88BHe6DApLpdXiKrwF1V8tNq9KP7'
const PERCENT = /^\d{1,3}\.\d{2}$/

function fakeView(overrides: Partial<NodeView> = {}): NodeView {
  const mesh = new Map<string, string[]>([
    ['alpha', [PEER_A, PEER_B]],
    ['beta', [PEER_B]],
  ])
  return {
    mode: 'optimum',
    peerId: SELF,
    peers: () => [PEER_A, PEER_B],
    addresses: () => ['/ip4/172.28.0.12/tcp/7070'],
    topics: () => [...mesh.keys()],
    meshPeers: (topic) => [...(mesh.get(topic) ?? [])],
    ...overrides,
  }
}

function metricsFor(view: NodeView, transfer = { sent: 1234, received: 5678 }): NodeMetrics {
  return new NodeMetrics({
    peerCount: () => view.peers().length,
    meshSizes: () => new Map(view.topics().map((t) => [t, view.meshPeers(t).length])),
    transfer: () => transfer,
  })
}

const version: VersionInfo = { version: '1.2.3', commit_hash: '6d3d086' }
const running: ApiServer[] = []

async function startApi(overrides: Partial<ApiServerOptions> = {}): Promise<{ api: ApiServer; base: string; port: number }> {
  const view = overrides.view ?? fakeView()
  const api = new ApiServer({
    view,
    metrics: overrides.metrics ?? metricsFor(view),
    version,
    stats: new SystemStats(),
    log: silentLogger,
    host: '127.0.0.1',
    port: 0,
    ...overrides,
  })
  const port = await api.start()
  running.push(api)
  return { api, base: `http://127.0.0.1:${port}`, port }
}

function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { signal: AbortSignal.timeout(10_000), ...init })
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((api) => api.stop()))
})

describe('percent', () => {
  it('formats two decimals, clamps to 0..100 and reads NaN as 0', () => {
    expect(percent(6.7)).toBe('6.70')
    expect(percent(0.286)).toBe('0.29')
    expect(percent(84.049)).toBe('84.05')
    expect(percent(100)).toBe('100.00')
    expect(percent(123)).toBe('100.00')
    expect(percent(-1)).toBe('0.00')
    expect(percent(-0)).toBe('0.00')
    expect(percent(Number.NaN)).toBe('0.00')
    expect(percent(Number.POSITIVE_INFINITY)).toBe('100.00')
  })
})

describe('HTTP API', () => {
  it('GET /api/v1/health: exactly the published keys, percent strings, mode and status', async () => {
    const { base } = await startApi({ view: fakeView({ mode: 'gossipsub' }) })
    for (let i = 0; i < 3; i++) {
      const res = await get(`${base}/api/v1/health`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      const text = await res.text()
      const body = JSON.parse(text) as Record<string, string>
      expect(Object.keys(body)).toEqual(['cpu_used', 'disk_used', 'memory_used', 'mode', 'status'])
      for (const key of ['cpu_used', 'disk_used', 'memory_used']) {
        expect(body[key]).toMatch(PERCENT)
        const value = Number(body[key])
        expect(value).toBeGreaterThanOrEqual(0)
        expect(value).toBeLessThanOrEqual(100)
      }
      expect(body.mode).toBe('gossipsub')
      expect(body.status).toBe('ok')
      expect(text).not.toMatch(/\s/) // compact, like the Go node
    }
  })

  it('GET /api/v1/health formats what the sampler reports', async () => {
    const stats: UsageSampler = {
      sample: async (): Promise<SystemUsage> => ({ cpuUsed: 0.286, memoryUsed: 6.7, diskUsed: 84.049 }),
    }
    const { base } = await startApi({ stats })
    const text = await (await get(`${base}/api/v1/health`)).text()
    expect(text).toBe('{"cpu_used":"0.29","disk_used":"84.05","memory_used":"6.70","mode":"optimum","status":"ok"}')
  })

  it('GET /api/v1/node-state reflects the view', async () => {
    let peers = [PEER_A]
    const { base } = await startApi({ view: fakeView({ peers: () => peers, topics: () => [] }) })
    const first = (await (await get(`${base}/api/v1/node-state`)).json()) as Record<string, unknown>
    expect(Object.keys(first)).toEqual(['pub_key', 'peers', 'addresses', 'topics'])
    expect(first).toEqual({ pub_key: SELF, peers: [PEER_A], addresses: ['/ip4/172.28.0.12/tcp/7070'], topics: [] })

    peers = [PEER_A, PEER_B]
    const second = (await (await get(`${base}/api/v1/node-state`)).json()) as Record<string, unknown>
    expect(second.peers).toEqual([PEER_A, PEER_B])
  })

  it('GET /api/v1/version returns the VersionInfo', async () => {
    const { base } = await startApi()
    const res = await get(`${base}/api/v1/version`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('{"commit_hash":"6d3d086","version":"1.2.3"}')
  })

  it('GET /api/v1/topics lists topics with their mesh peers', async () => {
    const { base } = await startApi()
    const body = await (await get(`${base}/api/v1/topics`)).json()
    expect(body).toEqual({
      topics: [
        { topic: 'alpha', mesh_peers: [PEER_A, PEER_B] },
        { topic: 'beta', mesh_peers: [PEER_B] },
      ],
    })
  })

  it('GET /api/v1/topics?topic=<t> lists only that topic', async () => {
    const { base } = await startApi()
    expect(await (await get(`${base}/api/v1/topics?topic=beta`)).json()).toEqual({ topics: [{ topic: 'beta', mesh_peers: [PEER_B] }] })
    expect(await (await get(`${base}/api/v1/topics?topic=gamma`)).json()).toEqual({ topics: [] })
    expect(await (await get(`${base}/api/v1/topics?topic=${encodeURIComponent('al pha')}`)).json()).toEqual({ topics: [] })
  })

  it('GET /api/v1/config serves the effective configuration', async () => {
    const config = parseNodeConfig({ NODE_MODE: 'gossipsub', SIDECAR_MAX_STREAMS: '7', NODE_COUNTRY_ISO: 'de' })
    const { base } = await startApi({ config })
    const res = await get(`${base}/api/v1/config`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, unknown>
    expect(body).toEqual(JSON.parse(JSON.stringify(config)))
    expect(body).toMatchObject({ mode: 'gossipsub', limits: { maxStreams: 7 }, location: { countryIso: 'DE' }, gossipsub: { port: 6060 } })
  })

  it('caps the topic label: the first METRICS_MAX_TOPICS topics have their own series, the rest share "other"', async () => {
    const metrics = new NodeMetrics({ peerCount: () => 0, meshSizes: () => new Map(), transfer: () => ({ sent: 0, received: 0 }) }, {}, { maxTopics: 3 })
    for (let i = 0; i < 50; i++) metrics.published.inc({ topic: metrics.topicLabel(`t-${i}`) })
    metrics.published.inc({ topic: metrics.topicLabel('t-1') })
    const { values } = await metrics.published.get()
    expect(Object.fromEntries(values.map((v) => [v.labels.topic, v.value]))).toEqual({ 't-0': 1, 't-1': 2, 't-2': 1, other: 47 })
  })

  it('GET /metrics serves the registry in Prometheus text format', async () => {
    const view = fakeView()
    const metrics = metricsFor(view, { sent: 4096, received: 8192 })
    metrics.published.inc({ topic: 'alpha' }, 3)
    metrics.delivered.inc({ topic: 'beta' }, 2)
    metrics.sidecarStreams.set(4)
    metrics.queueDrops.inc({ topic: 'alpha' })
    const { base } = await startApi({ view, metrics })
    const res = await get(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType)
    const text = await res.text()
    expect(text).toMatch(/^optimum_node_peers 2$/m)
    expect(text).toMatch(/^optimum_node_mesh_peers\{topic="alpha"\} 2$/m)
    expect(text).toMatch(/^optimum_node_mesh_peers\{topic="beta"\} 1$/m)
    expect(text).toMatch(/^optimum_node_messages_published_total\{topic="alpha"\} 3$/m)
    expect(text).toMatch(/^optimum_node_messages_delivered_total\{topic="beta"\} 2$/m)
    expect(text).toMatch(/^optimum_node_bytes_sent_total 4096$/m)
    expect(text).toMatch(/^optimum_node_bytes_received_total 8192$/m)
    expect(text).toMatch(/^optimum_node_sidecar_streams 4$/m)
    expect(text).toMatch(/^optimum_node_sidecar_queue_drops_total\{topic="alpha"\} 1$/m)
    // Default process metrics are there too (under the optimum_node_process_ prefix metrics.ts sets).
    expect(text).toMatch(/^# TYPE optimum_node_process_\w*cpu_seconds_total counter$/m)
  })

  it('unknown path → 404 JSON', async () => {
    const { base } = await startApi()
    for (const path of ['/', '/api/v1/nope', '/api/v1/health/extra']) {
      const res = await get(`${base}${path}`)
      expect(res.status).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual({ error: 'not found' })
    }
    const post = await get(`${base}/nope`, { method: 'POST', body: '{}' })
    expect(post.status).toBe(404)
    expect(await post.json()).toEqual({ error: 'not found' })
  })

  it('wrong method on a known path → 405 JSON with Allow', async () => {
    const { base } = await startApi()
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'PURGE']) {
      const res = await get(`${base}/api/v1/health`, { method })
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toMatch(/GET/)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await res.json()).toEqual({ error: 'method not allowed' })
    }
    const head = await get(`${base}/api/v1/version`, { method: 'HEAD' })
    expect(head.status).toBe(200)
  })

  it('a throwing view → 500 JSON without details, and the error is logged', async () => {
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
    const view = fakeView({
      peers: () => {
        throw new Error('libp2p exploded at secret-place')
      },
    })
    const { base } = await startApi({ view, log })

    for (const path of ['/api/v1/node-state', '/metrics']) {
      const res = await get(`${base}${path}`)
      expect(res.status).toBe(500)
      expect(res.headers.get('content-type')).toMatch(/^application\/json/)
      const text = await res.text()
      expect(JSON.parse(text)).toEqual({ error: 'internal error' })
      expect(text).not.toContain('secret-place')
    }
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; path?: string; err?: { message: string } })
      .filter((e) => e.level === 50)
    expect(errors.map((e) => e.path)).toEqual(['/api/v1/node-state', '/metrics'])
    for (const e of errors) expect(e.err?.message).toContain('libp2p exploded')

    // The server keeps serving after an error.
    expect((await get(`${base}/api/v1/version`)).status).toBe(200)
  })

  it('a rejecting sampler → 500 on /api/v1/health', async () => {
    const stats: UsageSampler = { sample: () => Promise.reject(new Error('no stats')) }
    const { base } = await startApi({ stats })
    const res = await get(`${base}/api/v1/health`)
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({ error: 'internal error' })
  })

  it('stop() frees the port even with a keep-alive connection open; start again on it', async () => {
    const view = fakeView()
    const metrics = metricsFor(view)
    const { api, base, port } = await startApi({ view, metrics })
    // fetch keeps the connection alive in its pool.
    expect((await get(`${base}/api/v1/version`)).status).toBe(200)
    await api.stop()
    await api.stop() // idempotent

    const again = new ApiServer({ view, metrics, version, stats: new SystemStats(), log: silentLogger, host: '127.0.0.1', port })
    expect(await again.start()).toBe(port)
    running.push(again)
    expect((await get(`${base}/api/v1/version`)).status).toBe(200)

    // A busy port is refused with the listen error, and nothing is left half-started.
    const third = new ApiServer({ view, metrics, version, stats: new SystemStats(), log: silentLogger, host: '127.0.0.1', port })
    const refused = await third.start().then(() => undefined, (err: unknown) => err as ListenError)
    expect(refused).toBeInstanceOf(ListenError)
    expect(refused).toMatchObject({ server: 'api', host: '127.0.0.1', port })
    expect((refused!.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE')
    await third.stop()

    // A stopped server can start again.
    const restarted = await api.start()
    expect((await get(`http://127.0.0.1:${restarted}/api/v1/version`)).status).toBe(200)
  })

  it('stop() is bounded while a request is in flight', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    const stats: UsageSampler = {
      sample: async () => {
        entered()
        await gate
        return { cpuUsed: 1, memoryUsed: 2, diskUsed: 3 }
      },
    }
    const { api, base } = await startApi({ stats, stopGraceMs: 100 })
    const pending = get(`${base}/api/v1/health`).then(
      (res) => res.status,
      () => 'failed' as const,
    )
    await inside
    await api.stop()
    expect(await pending).toBe('failed')
    release()
  })

  it('start() twice is an error', async () => {
    const { api } = await startApi()
    await expect(api.start()).rejects.toThrow(/already started/)
  })
})
