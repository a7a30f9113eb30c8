import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeMode } from '../../common/config/index.js'
import type { RunningNode } from '../../node/node.js'
import { startNetwork, stopAll } from '../../node/test/support/network.js'
import type { RunningProxy } from '../proxy.js'
import type { TracerSnapshot } from '../tracer/stats.js'
import { getJson, LOCAL_REDIS, postJson, proxyConfig, startTestProxy, testPrefix, topicMeshReady, waitForAsync } from './support/cluster.js'
import { removePrefix } from './support/store.js'

const MODES: NodeMode[] = ['optimum', 'gossipsub']

describe.each(MODES)('tracer endpoint over two replicas and 4 %s nodes', (mode) => {
  let nodes: RunningNode[]
  const proxies: RunningProxy[] = []
  const prefix = testPrefix(`tracer-${mode}`)
  const stream = async (port: number, window = '30s') => (await getJson(port, `/api/v1/tracer/stream?window=${window}`)).json as unknown as TracerSnapshot

  beforeAll(async () => {
    nodes = await startNetwork(4, mode)
    const p2pNodes = nodes.map((node) => `127.0.0.1:${node.ports.sidecar}`).join(',')
    for (let i = 0; i < 2; i++) proxies.push(await startTestProxy(proxyConfig(p2pNodes, prefix, { PROXY_TRACES: 'true' })))
  }, 60_000)
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.stop()))
    await stopAll(nodes)
    await removePrefix(LOCAL_REDIS, prefix)
  })

  it('reports a published message cluster-wide, the same on every replica, with the published fields', async () => {
    const [a, b] = proxies.map((proxy) => proxy.ports.http) as [number, number]
    const topic = 'traced'
    const { json: subscribed } = await postJson(a, '/api/v1/subscribe', { client_id: 'watcher', topic, threshold: 1 })
    expect(subscribed.status).toBe('subscribed')
    await topicMeshReady(nodes, topic)
    const body = 'x'.repeat(64 * 1024)
    const { json: published } = await postJson(a, '/api/v1/publish', { client_id: 'watcher', topic, message: body })
    const id = published.message_id as string

    await waitForAsync('the message at 3 receiving nodes, on replica B', async () => {
      const figures = (await stream(b)).messages[id]
      return figures !== undefined && Object.keys(figures.peers_seen).length === 3 && figures.bytes_moved > 0
    })
    let snapshot: TracerSnapshot | undefined
    await waitForAsync('both replicas answer the same', async () => {
      const [fromA, fromB] = await Promise.all([stream(a), stream(b)])
      snapshot = fromA
      return JSON.stringify(fromA) === JSON.stringify(fromB)
    })
    const s = snapshot!
    expect(Object.keys(s).sort()).toEqual([
      'active_nodes', 'algorithm', 'average_delay_seconds', 'bloat_factor', 'delivered_messages', 'duplicate_messages',
      'ideal_byte_complexity', 'last_updated', 'messages', 'p75', 'p95', 'published_messages', 'total_bytes_moved',
      'unhealthy_nodes', 'window_seconds',
    ])
    expect(s).toMatchObject({ algorithm: mode, active_nodes: 4, unhealthy_nodes: 0, window_seconds: 30, published_messages: 1 })
    expect(s.delivered_messages).toBe(3)
    expect(s.ideal_byte_complexity).toBe(3 * body.length)
    expect(s.total_bytes_moved).toBeGreaterThanOrEqual(s.ideal_byte_complexity * (mode === 'optimum' ? 0.9 : 1))
    expect(s.bloat_factor).toBeCloseTo(s.total_bytes_moved / s.ideal_byte_complexity, 6)
    expect(s.p95).toBeGreaterThanOrEqual(s.p75)
    expect(s.average_delay_seconds).toBeGreaterThanOrEqual(0)
    expect(Number.isNaN(Date.parse(s.last_updated))).toBe(false)
    // mump2p-cli unmarshals these into Go int / int64 / uint64 and time.Time: whole numbers and RFC 3339 times.
    for (const field of ['active_nodes', 'unhealthy_nodes', 'published_messages', 'delivered_messages', 'duplicate_messages',
      'total_bytes_moved', 'ideal_byte_complexity', 'window_seconds'] as const) expect(Number.isInteger(s[field]), field).toBe(true)
    const message = s.messages[id]!
    expect(Number.isInteger(message.duplicates) && Number.isInteger(message.bytes_moved)).toBe(true)
    expect(message.published).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    expect(message.topic).toBe(topic)
    expect(Date.parse(message.delivered)).toBeGreaterThanOrEqual(Date.parse(message.published))
    expect(message.delay_sec).toBeGreaterThanOrEqual(0)
    const receivers = nodes.slice().map((node) => node.peerId)
    for (const peer of Object.keys(message.peers_seen)) expect(receivers).toContain(peer)
  })

  it('starts every window afresh after a reset on any replica; refuses a bad window', async () => {
    const [a, b] = proxies.map((proxy) => proxy.ports.http) as [number, number]
    expect(Object.keys((await stream(a)).messages).length).toBeGreaterThan(0)
    const { status, json } = await getJson(b, '/api/v1/tracer/reset')
    expect(status).toBe(200)
    expect(json.status).toBe('reset')
    const after = await stream(a)
    expect(after).toMatchObject({ published_messages: 0, delivered_messages: 0, messages: {} })
    const refused = await getJson(a, '/api/v1/tracer/stream?window=soon')
    expect(refused.status).toBe(400)
    expect(String(refused.json.error)).toMatch(/window/)
  })
})
