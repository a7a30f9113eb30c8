/** Webhooks on the real stack: subscribed over REST with mump2p-cli's fields, delivered from the nodes' arrivals, refused targets. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getJson, postJson, startCluster, topicMeshReady, waitFor, type TestCluster } from './support/cluster.js'

describe('webhooks through the proxy', () => {
  let cluster: TestCluster
  const bodies: string[] = []
  let failuresLeft = 1
  const receiver = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      if (failuresLeft-- > 0) {
        res.statusCode = 503
      } else {
        bodies.push(body)
      }
      res.end()
    })
  })
  const receiverUrl = () => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    cluster = await startCluster('webhooks', 2, 2, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_MS: '50' })
  }, 60_000)

  afterAll(async () => {
    await cluster.stop()
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))
  })

  it('POSTs each message, in order, with the template filled, after a failed attempt', async () => {
    const [a, b] = cluster.proxies.map((p) => p.ports.http) as [number, number]
    const subscribed = await postJson(a, '/api/v1/subscribe', {
      client_id: 'hooked', topic: 'hooks', threshold: 0.5,
      webhook: receiverUrl(), webhook_schema: '{"text":"{{.Topic}}: {{.Message}}","id":"{{.MessageID}}"}',
    })
    expect(subscribed).toMatchObject({ status: 200, json: { status: 'subscribed' } })
    await topicMeshReady(cluster.nodes, 'hooks')
    const ids: string[] = []
    for (const text of ['one', 'two "quoted"', 'three']) {
      ids.push((await postJson(b, '/api/v1/publish', { client_id: 'hooked', topic: 'hooks', message: text })).json.message_id as string)
    }
    await waitFor('three webhook POSTs', () => bodies.length === 3, 30_000)
    expect(bodies.map((body) => JSON.parse(body))).toEqual([
      { text: 'hooks: one', id: ids[0] },
      { text: 'hooks: two "quoted"', id: ids[1] },
      { text: 'hooks: three', id: ids[2] },
    ])
    const state = (await getJson(a, '/api/v1/state')).json.webhooks as { subscriptions: number; delivered: number }
    expect(state).toMatchObject({ subscriptions: 1, delivered: 3 })
  }, 60_000)

  it("refuses metadata addresses and the proxy's own ports", async () => {
    const a = cluster.proxies[0]!.ports.http
    const own = await postJson(a, '/api/v1/subscribe', { client_id: 'loop', topic: 'hooks', webhook: `http://127.0.0.1:${a}/api/v1/publish` })
    expect(own).toMatchObject({ status: 403, json: { error: expect.stringMatching(/is this proxy/) } })
    const bad = await postJson(a, '/api/v1/subscribe', { client_id: 'loop', topic: 'hooks', webhook: 'ftp://example.com/' })
    expect(bad.status).toBe(400)
    const orphan = await postJson(a, '/api/v1/subscribe', { client_id: 'loop', topic: 'hooks', webhook_schema: '{{.Message}}' })
    expect(orphan.status).toBe(400)
    expect((await getJson(a, '/api/v1/topics?client_id=loop')).json).toMatchObject({ count: 0 })
  })
})
