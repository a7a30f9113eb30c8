import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientChannelOptions } from '../../common/grpc-options.js'
import { loadProxyProto, type ProxyMessage, type ProxyStreamClient } from '../../common/proto.js'
import { getJson, postJson, startCluster, TestWs, topicMeshReady, waitFor, waitForAsync, type TestCluster } from './support/cluster.js'

/** The published ProxyStream service, through a real gRPC client. */
describe('proxy gRPC ProxyStream', () => {
  let cluster: TestCluster
  let client: ProxyStreamClient
  let http: number
  const calls: grpc.ClientDuplexStream<Partial<ProxyMessage>, ProxyMessage>[] = []

  const open = () => {
    const call = client.ClientStream()
    const frames: ProxyMessage[] = []
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve))
    call.on('data', (frame: ProxyMessage) => frames.push(frame))
    call.on('error', () => {})
    calls.push(call)
    return { call, frames, ended }
  }
  const unary = <Req, Res>(method: (req: Req, cb: grpc.requestCallback<Res>) => unknown, request: Req) =>
    new Promise<Res>((resolve, reject) => method.call(client, request, (err, res) => (err ? reject(err) : resolve(res!))))

  beforeAll(async () => {
    cluster = await startCluster('grpc', 1, 2)
    http = cluster.proxies[0]!.ports.http
    const { ProxyStream } = loadProxyProto()
    client = new ProxyStream(`127.0.0.1:${cluster.proxies[0]!.ports.grpc}`, grpc.credentials.createInsecure(), clientChannelOptions({ keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 5_000 }))
  }, 60_000)
  afterAll(async () => {
    for (const call of calls) call.cancel()
    client.close()
    await cluster.stop()
  })

  it('streams ProxyMessage{type:"message"} for the topics the first frame subscribes to', async () => {
    const { call, frames } = open()
    call.write({ client_id: 'grpc-a', type: 'subscribe', topic: 'grpc-topic' })
    await waitForTopic('grpc-a', 'grpc-topic')
    await topicMeshReady(cluster.nodes, 'grpc-topic')
    const { json } = await postJson(http, '/api/v1/publish', { client_id: 'grpc-a', topic: 'grpc-topic', message: 'over gRPC' })
    await waitFor('gRPC delivery', () => frames.length === 1)
    expect(frames[0]).toMatchObject({ type: 'message', topic: 'grpc-topic', message_id: json.message_id, client_id: 'grpc-a' })
    expect(frames[0]!.message.toString()).toBe('over gRPC')

    // publish and unsubscribe frames on the same stream
    call.write({ type: 'publish', topic: 'grpc-topic', message: Buffer.from('from the stream') })
    await waitFor('own publish delivered', () => frames.length === 2)
    expect(frames[1]!.message.toString()).toBe('from the stream')
    call.write({ type: 'bogus', topic: 'grpc-topic' })
    await waitFor('error frame', () => frames.length === 3)
    expect(frames[2]).toMatchObject({ type: 'error', topic: 'grpc-topic' })
    expect(frames[2]!.message.toString()).toContain('unknown frame type "bogus"')
    call.write({ type: 'publish', topic: 'not-mine', message: Buffer.from('x') })
    await waitFor('refusal', () => frames.length === 4)
    expect(frames[3]!.message.toString()).toContain('topic not assigned')
    call.write({ type: 'unsubscribe', topic: 'grpc-topic' })
    await waitForAsync('unsubscribed', async () => !(await topicsOf('grpc-a')).includes('grpc-topic'))
  })

  it('replays from the cursor given as `since` metadata', async () => {
    await postJson(http, '/api/v1/subscribe', { client_id: 'grpc-since', topic: 'grpc-since', threshold: 0.5 })
    await topicMeshReady(cluster.nodes, 'grpc-since')
    const first = open()
    first.call.write({ client_id: 'grpc-since' })
    for (const text of ['one', 'two', 'three']) await postJson(http, '/api/v1/publish', { client_id: 'grpc-since', topic: 'grpc-since', message: text })
    await waitFor('3 live', () => first.frames.length === 3)
    first.call.cancel()
    // The cursors come with the WebSocket frames: replay everything there with since=0-0.
    const probe = new TestWs(http, 'client_id=grpc-since&since=0-0')
    await waitFor('probe replay', () => probe.frames.length === 3)
    probe.ws.terminate()
    const metadata = new grpc.Metadata()
    metadata.set('since', probe.frames[0]!.cursor)
    const call = client.ClientStream(metadata)
    const frames: ProxyMessage[] = []
    call.on('data', (frame: ProxyMessage) => frames.push(frame))
    call.on('error', () => {})
    calls.push(call)
    call.write({ client_id: 'grpc-since' })
    await waitFor('2 replayed', () => frames.length === 2)
    expect(frames.map((f) => f.message.toString())).toEqual(['two', 'three'])
  })

  it('ends a stream whose first frame has no client_id with INVALID_ARGUMENT', async () => {
    const { call, ended } = open()
    call.write({ topic: 'x' })
    const status = await ended
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(status.details).toContain('the first ClientStream message must carry client_id')
  })

  it('ends a stream whose first frame is not a ProxyMessage at all with a clear error, and keeps serving', async () => {
    const raw = new grpc.Client(`127.0.0.1:${cluster.proxies[0]!.ports.grpc}`, grpc.credentials.createInsecure())
    try {
      const call = raw.makeBidiStreamRequest('/proto.ProxyStream/ClientStream', (b: Buffer) => b, (b: Buffer) => b)
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        call.on('status', resolve)
        call.on('error', () => {})
        call.on('data', () => {})
        call.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a]))
      })
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT)
      expect(status.details).toMatch(/^the first ClientStream message is not a ProxyMessage: /)
    } finally {
      raw.close()
    }
    const health = await getJson(http, '/api/v1/health')
    expect(health.json.status).toBe('ok')
  })

  it('serves unary Subscribe, Publish and ExposeNodes', async () => {
    const sub = await unary(client.Subscribe, { client_id: 'grpc-u', topic: 'u1', topics: ['u2'], threshold: 0.5 })
    expect(sub).toEqual({ status: 'subscribed', topic: 'u1,u2', client_id: 'grpc-u' })
    expect(await topicsOf('grpc-u')).toEqual(['u1', 'u2'])
    await topicMeshReady(cluster.nodes, 'u1')
    const pub = await unary(client.Publish, { client_id: 'grpc-u', topic: 'u1', message: Buffer.from('unary') })
    expect(pub).toMatchObject({ status: 'published', topic: 'u1', client_id: 'grpc-u', message_id: expect.any(String) })
    const refused = await unary(client.Publish, { client_id: 'grpc-u', topic: 'u3', message: Buffer.from('x') }).catch((e: grpc.ServiceError) => e)
    expect(refused).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'topic not assigned' })
    const bad = await unary(client.Subscribe, { client_id: 'grpc-u', topic: 'u1', threshold: 2 }).catch((e: grpc.ServiceError) => e)
    expect(bad).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'threshold must be a number from 0 to 1' })
    const nodes = await unary(client.ExposeNodes, { client_id: 'grpc-u', expose_amount: 1 })
    expect(nodes.nodes).toHaveLength(1)
  })

  async function topicsOf(clientId: string): Promise<string[]> {
    return (await getJson(http, `/api/v1/topics?client_id=${clientId}`)).json.topics as string[]
  }
  function waitForTopic(clientId: string, topic: string): Promise<true> {
    return waitForAsync(`${clientId} subscribed to ${topic}`, async () => (await topicsOf(clientId)).includes(topic))
  }
})
