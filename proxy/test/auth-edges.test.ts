/**
 * ENABLE_AUTH=true through every edge of two replicas (REST, WebSocket, gRPC),
 * tokens from a local JWKS server; the per-case answers of proxy/auth are in
 * auth.test.ts, this shows the edges carry them (statuses, Retry-After,
 * ?token=, metadata) and that limits hold across replicas.
 */
import * as grpc from '@grpc/grpc-js'
import { WebSocket } from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientChannelOptions } from '../../common/grpc-options.js'
import { loadProxyProto, type ProxyStreamClient } from '../../common/proto.js'
import { startCluster, topicMeshReady, waitFor, type TestCluster } from './support/cluster.js'
import { JwksServer, signingKey, signToken, type SigningKey } from '../../common/test/support/jwks.js'

const AUDIENCE = 'https://optimum.test/api'

describe('auth on the edges of two replicas', () => {
  const jwks = new JwksServer()
  let key: SigningKey
  let cluster: TestCluster
  let ports: [number, number]
  let grpcClient: ProxyStreamClient

  const token = (claims: Record<string, unknown>) => signToken({ key, issuer: jwks.issuer, audience: AUDIENCE, claims })

  async function call(port: number, path: string, body: unknown, jwt?: string) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
      body: JSON.stringify(body),
    })
    return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as Record<string, unknown> }
  }

  /** The status of a WebSocket upgrade: 101 when it opened. */
  function upgrade(port: number, query: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/ws?${query}`, { headers })
      ws.on('error', () => {})
      ws.once('open', () => {
        ws.close()
        resolve(101)
      })
      ws.once('unexpected-response', (_req, res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
    })
  }

  beforeAll(async () => {
    await jwks.start()
    key = await signingKey('edge-key')
    jwks.published = [key]
    cluster = await startCluster('auth-edges', 2, 2, {
      ENABLE_AUTH: 'true',
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: jwks.issuer,
      AUTH0_AUDIENCE: AUDIENCE,
    })
    ports = [cluster.proxies[0]!.ports.http, cluster.proxies[1]!.ports.http]
    const { ProxyStream } = loadProxyProto()
    grpcClient = new ProxyStream(`127.0.0.1:${cluster.proxies[1]!.ports.grpc}`, grpc.credentials.createInsecure(), clientChannelOptions({ keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000 }))
  }, 60_000)

  afterAll(async () => {
    grpcClient.close()
    await cluster.stop()
    await jwks.stop()
  })

  it('REST: 401 without a token, 403 for another client or an inactive one, 200 with a good one', async () => {
    expect(await call(ports[0], '/api/v1/subscribe', { client_id: 'alice', topic: 'auth' })).toMatchObject({ status: 401, json: { error: expect.stringMatching(/bearer token/) } })
    expect((await call(ports[0], '/api/v1/subscribe', { client_id: 'alice', topic: 'auth' }, await token({ client_id: 'bob' }))).status).toBe(403)
    expect((await call(ports[0], '/api/v1/subscribe', { client_id: 'alice', topic: 'auth' }, await token({ client_id: 'alice', is_active: 'false' }))).status).toBe(403)
    expect(await call(ports[0], '/api/v1/subscribe', { client_id: 'alice', topic: 'auth' }, await token({ client_id: 'alice', is_active: 'true' }))).toMatchObject({ status: 200, json: { status: 'subscribed' } })
  })

  it('REST: limits hold across replicas, 429 with Retry-After and 413, each naming the limit', async () => {
    const jwt = await token({ client_id: 'limited', max_publish_per_hour: 2, max_publish_per_sec: 100, max_message_size: 64 })
    await call(ports[0], '/api/v1/subscribe', { client_id: 'limited', topic: 'limits' }, jwt)
    await topicMeshReady(cluster.nodes, 'limits')
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await call(ports[i % 2]!, '/api/v1/publish', { client_id: 'limited', topic: 'limits', message: `m${i}` }, jwt))
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429])
    expect(answers[2]!.json.error).toMatch(/max_publish_per_hour/)
    expect(Number(answers[2]!.retryAfter)).toBeGreaterThanOrEqual(1)
    expect(Number(answers[2]!.retryAfter)).toBeLessThanOrEqual(3600)
    const big = await call(ports[1], '/api/v1/publish', { client_id: 'limited', topic: 'limits', message: 'x'.repeat(65) }, jwt)
    expect(big).toMatchObject({ status: 413, json: { error: expect.stringMatching(/max_message_size/) } })
  })

  it('WebSocket: refused without a token; opens with the header or ?token=', async () => {
    const jwt = await token({ client_id: 'alice' })
    expect(await upgrade(ports[1], 'client_id=alice')).toBe(401)
    expect(await upgrade(ports[1], `client_id=alice&token=${await token({ client_id: 'bob' })}`)).toBe(403)
    expect(await upgrade(ports[1], 'client_id=alice', { authorization: `Bearer ${jwt}` })).toBe(101)
    expect(await upgrade(ports[1], `client_id=alice&token=${jwt}`)).toBe(101)
  })

  it('gRPC: authorization metadata, refused without it', async () => {
    const publish = (metadata: grpc.Metadata) =>
      new Promise<{ code: number; status?: string }>((resolve) =>
        grpcClient.Publish({ client_id: 'alice', topic: 'auth', message: Buffer.from('hi') }, metadata, (err, res) =>
          resolve(err ? { code: err.code } : { code: 0, status: res!.status })))
    expect((await publish(new grpc.Metadata())).code).toBe(grpc.status.UNAUTHENTICATED)
    const metadata = new grpc.Metadata()
    metadata.set('authorization', `Bearer ${await token({ client_id: 'alice', max_publish_per_sec: 100 })}`)
    expect(await publish(metadata)).toEqual({ code: 0, status: 'published' })
  })

  it('gRPC ClientStream: the token opens the stream and each publish frame counts against its limits', async () => {
    expect(await new Promise((resolve) => {
      const refused = grpcClient.ClientStream(new grpc.Metadata())
      refused.on('data', () => {})
      refused.on('error', (err: grpc.ServiceError) => resolve(err.code))
      refused.write({ client_id: 'streamer', type: 'subscribe', topic: 'stream-limits' })
    })).toBe(grpc.status.UNAUTHENTICATED)

    const metadata = new grpc.Metadata()
    metadata.set('authorization', `Bearer ${await token({ client_id: 'streamer', max_publish_per_hour: 1, max_publish_per_sec: 100 })}`)
    const call = grpcClient.ClientStream(metadata)
    const frames: Array<{ type: string; message: Buffer }> = []
    call.on('data', (frame: { type: string; message: Buffer }) => frames.push(frame))
    call.on('error', () => {})
    call.write({ client_id: 'streamer', type: 'subscribe', topic: 'stream-limits' })
    call.write({ client_id: 'streamer', type: 'publish', topic: 'stream-limits', message: Buffer.from('first') })
    call.write({ client_id: 'streamer', type: 'publish', topic: 'stream-limits', message: Buffer.from('second') })
    await waitFor('the refusal of the second publish', () => frames.some((f) => f.type === 'error'), 15_000)
    expect(String(frames.find((f) => f.type === 'error')!.message)).toMatch(/max_publish_per_hour/)
    call.cancel()
  })
})
