import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../common/free-port.js'
import { removePrefix } from './support/store.js'
import {
  LOCAL_REDIS,
  getJson,
  postJson,
  proxyConfig,
  startCluster,
  startTestProxy,
  testPrefix,
  TestWs,
  topicMeshReady,
  waitFor,
  type TestCluster,
} from './support/cluster.js'

/** The REST API of one replica, in both published generations, with every bad input it must refuse. */
describe('proxy REST API', () => {
  let cluster: TestCluster
  let port: number

  beforeAll(async () => {
    cluster = await startCluster('http', 1, 4, { PROXY_MAX_MSG_SIZE: '1000' })
    port = cluster.proxies[0]!.ports.http
  }, 60_000)
  afterAll(async () => {
    await cluster.stop()
  })

  describe.each([
    { prefix: '/api', missingClient: 'client_id is missing', missingTopic: 'topic is missing', missingMessage: 'message is missing' },
    { prefix: '/api/v1', missingClient: 'missing client ID', missingTopic: 'missing topic', missingMessage: 'either message or message_length must be provided' },
  ])('$prefix', ({ prefix, missingClient, missingTopic, missingMessage }) => {
    const topic = `rest-${prefix.replaceAll('/', '')}`
    const client = `client-${prefix.replaceAll('/', '')}`

    it('subscribes and answers "status":"subscribed"', async () => {
      const { status, json } = await postJson(port, `${prefix}/subscribe`, { client_id: client, topic, threshold: 0.5 })
      expect(status).toBe(200)
      expect(json).toMatchObject({ status: 'subscribed', topic, threshold: 0.5 })
      expect(prefix === '/api' ? json.client_id : json.client).toBe(client)
    })

    it('publishes to a subscribed topic: "status":"published" with a message_id, delivered over WebSocket', async () => {
      await topicMeshReady(cluster.nodes, topic)
      const ws = new TestWs(port, `client_id=${client}`, `${prefix}/ws`)
      await ws.opened
      const { status, json } = await postJson(port, `${prefix}/publish`, { client_id: client, topic, message: 'hello there' })
      expect(status).toBe(200)
      expect(json).toMatchObject({ status: 'published', topic, message_id: expect.any(String) })
      await waitFor('delivery', () => ws.frames.length === 1)
      expect(ws.frames[0]).toMatchObject({ topic, message_id: json.message_id, message: Buffer.from('hello there').toString('base64'), nodes: 2 })
      expect(ws.frames[0]!.source_node_id).toMatch(/^12D3KooW/)
      expect(ws.frames[0]!.cursor).toMatch(/^\d+-\d+$/)
      await ws.close()
    })

    it.each([
      ['invalid JSON', '{"client_id": "x", ', 'invalid JSON'],
      ['a JSON array', '[1,2]', 'invalid JSON'],
      ['an empty client_id', { client_id: '', topic: 't', threshold: 0.5 }, 'CLIENT'],
      ['no client_id', { topic: 't' }, 'CLIENT'],
      ['a numeric client_id', { client_id: 7, topic: 't' }, 'CLIENT'],
      ['an empty topic', { client_id: 'c', topic: '', threshold: 0.5 }, 'TOPIC'],
      ['a topic that is an object', { client_id: 'c', topic: { a: 1 } }, 'TOPIC'],
      ['threshold above 1', { client_id: 'c', topic: 't', threshold: 1.5 }, 'threshold must be a number from 0 to 1'],
      ['threshold below 0', { client_id: 'c', topic: 't', threshold: -0.1 }, 'threshold must be a number from 0 to 1'],
      ['threshold as text', { client_id: 'c', topic: 't', threshold: 'high' }, 'threshold must be a number from 0 to 1'],
      ['a topic with control characters', { client_id: 'c', topic: 'a\nb' }, 'topic contains control characters'],
      ['a 300-byte topic', { client_id: 'c', topic: 'x'.repeat(300) }, 'topic is 300 bytes long'],
    ])('subscribe refuses %s with 400', async (_case, body, phrase) => {
      const expected = phrase === 'CLIENT' ? missingClient : phrase === 'TOPIC' ? missingTopic : phrase
      const { status, json } = await postJson(port, `${prefix}/subscribe`, body)
      expect(status).toBe(400)
      expect(json.error).toContain(expected)
    })

    it.each([
      ['invalid JSON', 'not json', 'invalid JSON'],
      ['no topic', { client_id: 'c', message: 'm' }, 'TOPIC'],
      ['no client_id', { topic: 't', message: 'm' }, 'CLIENT'],
      ['no message', { client_id: 'c', topic: 't' }, 'MESSAGE'],
      ['an empty message', { client_id: 'c', topic: 't', message: '' }, 'MESSAGE'],
      ['a numeric message', { client_id: 'c', topic: 't', message: 5 }, 'MESSAGE'],
      ['message_length 0', { client_id: 'c', topic: 't', message_length: 0 }, 'message_length must be a whole number of bytes'],
      ['a fractional timestamp', { client_id: client, topic, message: 'm', timestamp: 1.5 }, 'timestamp must be a whole number of milliseconds'],
    ])('publish refuses %s with 400', async (_case, body, phrase) => {
      const expected = phrase === 'CLIENT' ? missingClient : phrase === 'TOPIC' ? missingTopic : phrase === 'MESSAGE' ? missingMessage : phrase
      const { status, json } = await postJson(port, `${prefix}/publish`, body)
      expect(status).toBe(400)
      expect(json.error).toContain(expected)
    })

    it('refuses a publish to a topic the client has not subscribed to: "topic not assigned"', async () => {
      const { status, json } = await postJson(port, `${prefix}/publish`, { client_id: client, topic: 'non-existent-topic', message: 'm' })
      expect(status).toBe(403)
      expect(json.error).toContain('topic not assigned')
    })

    it('refuses messages over PROXY_MAX_MSG_SIZE and oversize bodies with 413', async () => {
      const big = await postJson(port, `${prefix}/publish`, { client_id: client, topic, message: 'x'.repeat(1001) })
      expect(big.status).toBe(413)
      expect(big.json.error).toContain('limit is 1000 bytes')
      const huge = await postJson(port, `${prefix}/publish`, { client_id: client, topic, message: 'x'.repeat(200_000) })
      expect(huge.status).toBe(413)
      expect(huge.json.error).toContain('request body is larger than')
      const long = await postJson(port, `${prefix}/publish`, { client_id: client, topic, message_length: 1001 })
      expect(long.status).toBe(413)
    })
  })

  it('takes five rapid publishes (the published test suite), each with its own message_id', async () => {
    await postJson(port, '/api/publish', { client_id: 'rapid', topic: 'rapid' }) // not subscribed yet: refused
    await postJson(port, '/api/subscribe', { client_id: 'rapid', topic: 'rapid', threshold: 0.5 })
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => postJson(port, '/api/publish', { client_id: 'rapid', topic: 'rapid', message: `rapid ${i}` })))
    expect(answers.map((a) => a.json.status)).toEqual(Array(5).fill('published'))
    expect(new Set(answers.map((a) => a.json.message_id)).size).toBe(5)
  })

  it('publishes message_length random bytes, and answers a retried timestamped publish "deduplicated"', async () => {
    await postJson(port, '/api/v1/subscribe', { client_id: 'dedup', topic: 'dedup-topic', threshold: 0.1 })
    const random = await postJson(port, '/api/v1/publish', { client_id: 'dedup', topic: 'dedup-topic', message_length: 64 })
    expect(random.json.status).toBe('published')
    const body = { client_id: 'dedup', topic: 'dedup-topic', message: 'once', timestamp: 1_733_000_000_000 }
    const first = await postJson(port, '/api/v1/publish', body)
    const again = await postJson(port, '/api/v1/publish', body)
    expect(first.json).toMatchObject({ status: 'published' })
    expect(again.json).toEqual({ status: 'deduplicated', topic: 'dedup-topic', message_id: first.json.message_id })
  })

  it('lists a client’s topics, unsubscribes, and says "topic not assigned" for a topic it does not have', async () => {
    await postJson(port, '/api/v1/subscribe', { client_id: 'lister', topic: 'b-topic' })
    await postJson(port, '/api/v1/subscribe', { client_id: 'lister', topic: 'a-topic' })
    expect((await getJson(port, '/api/v1/topics?client_id=lister')).json).toEqual({ client_id: 'lister', topics: ['a-topic', 'b-topic'], count: 2 })
    expect((await getJson(port, '/api/v1/topics')).json.error).toContain('missing client ID')
    const gone = await postJson(port, '/api/v1/unsubscribe', { client_id: 'lister', topic: 'a-topic' })
    expect(gone.json).toEqual({ status: 'unsubscribed', client_id: 'lister', topic: 'a-topic' })
    const again = await postJson(port, '/api/v1/unsubscribe', { client_id: 'lister', topic: 'a-topic' })
    expect(again.status).toBe(404)
    expect(again.json.error).toContain('topic not assigned')
    expect((await getJson(port, '/api/v1/topics?client_id=lister')).json).toMatchObject({ topics: ['b-topic'], count: 1 })
  })

  it('answers health, version, state and metrics', async () => {
    const health = await getJson(port, '/api/v1/health')
    expect(health.status).toBe(200)
    expect(health.json).toMatchObject({ status: 'ok', country: '', country_iso: '', nodes_up: 4, nodes: 4 })
    for (const key of ['memory_used', 'cpu_used', 'disk_used']) expect(health.json[key]).toMatch(/^\d+\.\d\d$/)
    expect((await getJson(port, '/api/v1/version')).json).toEqual({ version: 'test', commit_hash: 'test' })
    const state = await getJson(port, '/api/v1/state')
    expect(state.json).toMatchObject({ clients: expect.any(Number), connections: { websocket: 0, grpc: 0 } })
    expect(state.json.nodes).toHaveLength(4)
    expect(state.json.topics).toEqual(expect.arrayContaining([expect.objectContaining({ topic: 'b-topic', subscribers: 1 })]))
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metrics).toContain('optimum_proxy_http_requests_total')
    expect(metrics).toMatch(/optimum_proxy_nodes_up 4/)
    expect(metrics).toMatch(/optimum_proxy_node_publish_seconds_count\{node="127.0.0.1:\d+"\} [1-9]/)
  })

  it('answers unknown routes and methods with JSON errors', async () => {
    expect(await getJson(port, '/nope')).toEqual({ status: 404, json: { error: 'not found' } })
    expect((await getJson(port, '/api/v1/publish')).status).toBe(405)
    const plain = await getJson(port, '/api/v1/ws?client_id=x')
    expect(plain.status).toBe(426)
  })

  it('refuses WebSocket upgrades without client_id, with a bad since, or on another path', async () => {
    const cases: Array<[string, string, number, string]> = [
      ['/api/ws', '', 400, 'client_id is missing'],
      ['/api/v1/ws', 'client_id=', 400, 'missing client ID'],
      ['/api/v1/ws', 'client_id=c&since=yesterday', 400, 'since must be a cursor'],
      ['/api/v2/ws', 'client_id=c', 404, 'not found'],
    ]
    for (const [path, query, status, phrase] of cases) {
      const ws = new TestWs(port, query, path)
      const response = await new Promise<{ status: number; body: string }>((resolve) => {
        ws.ws.once('unexpected-response', (_req, res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => (body += chunk.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
      })
      ws.ws.on('error', () => {})
      expect(response.status, `${path}?${query}`).toBe(status)
      expect(JSON.parse(response.body).error).toContain(phrase)
    }
  })
})

describe('a proxy whose nodes are all down', () => {
  it('queues publishes (Redis holds them until a node is back) and answers health with "unavailable"', async () => {
    const prefix = testPrefix('no-nodes')
    const proxy = await startTestProxy(proxyConfig(`127.0.0.1:${await freePort()}`, prefix))
    try {
      const port = proxy.ports.http
      await postJson(port, '/api/v1/subscribe', { client_id: 'c', topic: 't' })
      const { status, json } = await postJson(port, '/api/v1/publish', { client_id: 'c', topic: 't', message: 'm' })
      expect({ status, json }).toMatchObject({ status: 200, json: { status: 'published' } })
      const state = await getJson(port, '/api/v1/state')
      expect((state.json.durable_publish as { depth: number; active: number }).depth + (state.json.durable_publish as { active: number }).active).toBe(1)
      const health = await getJson(port, '/api/v1/health')
      expect(health).toMatchObject({ status: 503, json: { status: 'unavailable', nodes_up: 0 } })
    } finally {
      await proxy.stop()
      await removePrefix(LOCAL_REDIS, prefix)
    }
  })
})
