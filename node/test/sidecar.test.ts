import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { clientChannelOptions } from '../../common/grpc-options.js'
import { ERROR_CODE_METADATA_KEY, fromGrpcError } from '../../common/grpc-status.js'
import {
  Command,
  loadSidecarProto,
  ResponseType,
  type CommandStreamClient,
  type DeliveredMessageJson,
  type PublishAck,
  type PublishRequest,
  type SidecarRequest,
  type SidecarResponse,
} from '../../common/proto.js'
import type { StreamErrorJson } from '../sidecar/commands.js'
import { MAX_TOPIC_BYTES } from '../pubsub/validation.js'
import { SidecarServer, type SidecarServerOptions } from '../sidecar/server.js'
import { MemoryEngine } from './support/memory-engine.js'
import { idleMetrics, testSidecarOptions } from './support/sidecar.js'
import { tcpRelay } from './support/tcp-relay.js'

const { CommandStream } = loadSidecarProto()
const MAX_MESSAGE = 64 * 1024

const servers: SidecarServer[] = []
const clients: grpc.Client[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(servers.splice(0).map((server) => server.stop(2_000)))
})

async function startSidecar(overrides: Partial<SidecarServerOptions> = {}) {
  const engine = (overrides.engine as MemoryEngine | undefined) ?? new MemoryEngine({ maxMessageSize: MAX_MESSAGE })
  const metrics = overrides.metrics ?? idleMetrics()
  const server = new SidecarServer(
    testSidecarOptions({
      engine,
      metrics,
      maxMessageSize: MAX_MESSAGE,
      health: async () => ({ cpuUsed: 12.5, memoryUsed: 40.25, diskUsed: 84.05 }),
      ...overrides,
    }),
  )
  const port = await server.start()
  servers.push(server)
  return { server, engine, metrics, port }
}

/** Each client gets its own connection (no shared subchannel), like separate processes. */
function connect(port: number, options: grpc.ChannelOptions = {}): CommandStreamClient {
  const client = new CommandStream(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    ...options,
  })
  clients.push(client)
  return client
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

class Stream {
  readonly call: grpc.ClientDuplexStream<Partial<SidecarRequest>, SidecarResponse>
  readonly responses: SidecarResponse[] = []
  status: grpc.StatusObject | undefined

  constructor(client: CommandStreamClient) {
    this.call = client.ListenCommands()
    this.call.on('data', (response: SidecarResponse) => this.responses.push(response))
    this.call.on('status', (status: grpc.StatusObject) => (this.status = status))
    this.call.on('error', () => {
      // seen through status
    })
  }

  send(request: Partial<SidecarRequest>): void {
    this.call.write(request)
  }

  subscribe(topic: string): void {
    this.send({ command: Command.Subscribe, topic })
  }

  publish(topic: string, text: string | Buffer): void {
    this.send({ command: Command.Publish, topic, data: Buffer.isBuffer(text) ? text : Buffer.from(text) })
  }

  messages(): DeliveredMessageJson[] {
    return this.responses
      .filter((r) => r.command === ResponseType.Message)
      .map((r) => JSON.parse(Buffer.from(r.data).toString()) as DeliveredMessageJson)
  }

  texts(topic?: string): string[] {
    return this.messages()
      .filter((m) => topic === undefined || m.Topic === topic)
      .map((m) => Buffer.from(m.Message, 'base64').toString())
  }

  errors(): StreamErrorJson[] {
    return this.responses
      .filter((r) => r.command === ResponseType.Unknown)
      .map((r) => JSON.parse(Buffer.from(r.data).toString()) as StreamErrorJson)
  }

  ended(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    return until(() => this.status !== undefined, 'the stream to end', timeoutMs).then(() => this.status!)
  }
}

function holders(server: SidecarServer, topic: string): number {
  return server.streamStats().filter((s) => s.topics.includes(topic)).length
}

function unary<Res>(fn: (cb: grpc.requestCallback<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res!))))
}

function publishUnary(client: CommandStreamClient, request: Partial<PublishRequest>): Promise<PublishAck> {
  return unary<PublishAck>((cb) => client.Publish(request, cb))
}

async function publishError(client: CommandStreamClient, request: Partial<PublishRequest>): Promise<grpc.ServiceError> {
  try {
    await publishUnary(client, request)
  } catch (err) {
    return err as grpc.ServiceError
  }
  throw new Error('expected Publish to fail')
}

async function counterValue(counter: { get(): Promise<{ values: { value: number; labels: object }[] }> }, topic: string) {
  const { values } = await counter.get()
  return values.find((v) => (v.labels as { topic?: string }).topic === topic)?.value ?? 0
}

describe('sidecar ListenCommands', () => {
  it('serves concurrent streams, each with its own topics', async () => {
    const { server, port } = await startSidecar()
    const a = new Stream(connect(port))
    const b = new Stream(connect(port))
    const c = new Stream(connect(port))
    a.subscribe('alpha')
    b.subscribe('beta')
    c.subscribe('alpha')
    c.subscribe('beta')
    await until(() => holders(server, 'alpha') === 2 && holders(server, 'beta') === 2, 'subscriptions')

    a.publish('beta', 'to-beta')
    b.publish('alpha', 'to-alpha')
    await until(() => a.texts().length === 1 && b.texts().length === 1 && c.texts().length === 2, 'deliveries')
    expect(a.texts()).toEqual(['to-alpha'])
    expect(b.texts()).toEqual(['to-beta'])
    expect(c.texts('alpha')).toEqual(['to-alpha'])
    expect(c.texts('beta')).toEqual(['to-beta'])

    c.send({ command: Command.Unsubscribe, topic: 'alpha' })
    await until(() => holders(server, 'alpha') === 1, 'unsubscribe')
    b.publish('alpha', 'second-alpha')
    await until(() => a.texts().length === 2, 'second alpha')
    // a marker on beta, after second-alpha: once c has it, c would also have had second-alpha
    b.publish('beta', 'marker')
    await until(() => c.texts('beta').length === 2, 'marker')
    expect(c.texts('alpha')).toEqual(['to-alpha'])
    expect(a.errors()).toEqual([])
    expect(server.streamCount).toBe(3)
  })

  it('holds one mesh subscription per topic while any stream wants it', async () => {
    const { server, engine, port } = await startSidecar()
    const x = new Stream(connect(port))
    const y = new Stream(connect(port))
    x.subscribe('shared')
    y.subscribe('shared')
    x.subscribe('shared') // twice on one stream is once
    await until(() => holders(server, 'shared') === 2, 'both streams')
    expect(engine.count('subscribe', 'shared')).toBe(1)

    x.send({ command: Command.Unsubscribe, topic: 'shared' })
    await until(() => holders(server, 'shared') === 1, 'x to leave')
    expect(engine.count('unsubscribe', 'shared')).toBe(0)
    expect(engine.topics()).toEqual(['shared'])

    y.call.cancel()
    await until(() => engine.count('unsubscribe', 'shared') === 1, 'the engine unsubscribe after the last stream')
    expect(engine.topics()).toEqual([])

    // a client whose connection drops (no cancel, no half-close) releases too
    const relay = await tcpRelay(port)
    const z = new Stream(connect(relay.port))
    z.subscribe('shared')
    await until(() => engine.count('subscribe', 'shared') === 2, 'resubscribe')
    relay.cut()
    await until(() => engine.count('unsubscribe', 'shared') === 2, 'release on disconnect')
    await until(() => server.streamCount === 1, 'only x left')
    await relay.close()
  })

  it('delivers the published JSON shape', async () => {
    const { server, engine, port } = await startSidecar()
    const s = new Stream(connect(port))
    s.subscribe('shape')
    await until(() => holders(server, 'shape') === 1, 'subscription')
    const body = Buffer.concat([Buffer.from([0, 1, 2, 254, 255]), Buffer.from(' héllo "json" \n')])
    engine.inject('shape', body, '12D3KooWSourcePeer', 'msg-id-1')
    await until(() => s.responses.length === 1, 'the delivery')
    const response = s.responses[0]!
    expect(response.command).toBe(ResponseType.Message)
    const json = JSON.parse(Buffer.from(response.data).toString()) as Record<string, unknown>
    expect(Object.keys(json)).toEqual(['MessageID', 'Topic', 'Message', 'SourceNodeID'])
    expect(json).toEqual({
      MessageID: 'msg-id-1',
      Topic: 'shape',
      Message: body.toString('base64'),
      SourceNodeID: '12D3KooWSourcePeer',
    })
  })

  it('answers bad requests with an error response and keeps the stream usable', async () => {
    const { server, engine, port } = await startSidecar()
    const s = new Stream(connect(port))
    s.send({ command: 9, topic: 't' })
    s.send({ command: Command.Subscribe, topic: '' })
    s.send({ command: Command.Publish, topic: 'big', data: Buffer.alloc(MAX_MESSAGE + 1) })
    s.send({ command: Command.Subscribe, topic: 'x'.repeat(MAX_TOPIC_BYTES + 1) })
    await until(() => s.errors().length === 4, 'four error responses')
    const [unknown, empty, big, long] = s.errors()
    expect(unknown).toEqual({
      error: 'unknown command 9 (expected 1 publish, 2 subscribe or 3 unsubscribe)',
      code: 'invalid_argument',
      command: 9,
      topic: 't',
    })
    expect(empty).toEqual({ error: 'topic is missing', code: 'invalid_argument', command: 2, topic: '' })
    expect(big!.code).toBe('too_large')
    expect(big!.command).toBe(1)
    expect(big!.error).toContain(`limit is ${MAX_MESSAGE} bytes`)
    expect(long!.code).toBe('invalid_argument')
    expect(engine.published).toEqual([])

    // the engine refusing a publish is an error response too
    engine.failWith = new Error('boom')
    s.publish('t', 'refused')
    await until(() => s.errors().length === 5, 'the publish failure')
    expect(s.errors()[4]).toMatchObject({ code: 'internal', command: 1, topic: 't' })
    engine.failWith = undefined

    // still open and working
    s.subscribe('ok')
    await until(() => holders(server, 'ok') === 1, 'subscription after errors')
    s.publish('ok', 'fine')
    await until(() => s.texts('ok').length === 1, 'delivery after errors')
    expect(s.status).toBeUndefined()
  })

  it('ends the call when a request exceeds the transport limit (max message size + 1 MiB)', async () => {
    const { port } = await startSidecar()
    const s = new Stream(connect(port, { 'grpc.max_send_message_length': -1 }))
    s.publish('t', Buffer.alloc(MAX_MESSAGE + 1024 * 1024 + 1))
    const status = await s.ended()
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
  })

  it('finishes pending publishes in order when the client half-closes, then ends with OK', async () => {
    const engine = new MemoryEngine({ maxMessageSize: MAX_MESSAGE, publishDelayMs: 5 })
    const { server, metrics, port } = await startSidecar({ engine, maxInflightPublishes: 8 })
    const s = new Stream(connect(port))
    s.subscribe('mine')
    const n = 60
    for (let i = 0; i < n; i++) s.publish('flush', `m-${i}`)
    s.call.end()
    const status = await s.ended()
    expect(status.code).toBe(grpc.status.OK)
    // by the time the call ended, every publish had been carried out, in order
    expect(engine.published.map((p) => Buffer.from(p.data).toString())).toEqual(
      Array.from({ length: n }, (_, i) => `m-${i}`),
    )
    expect(await counterValue(metrics.published, 'flush')).toBe(n)
    await until(() => engine.count('unsubscribe', 'mine') === 1, 'topics released')
    expect(server.streamCount).toBe(0)
  })
})

describe('sidecar slow subscribers', () => {
  it('drops the oldest for a stalled stream and never holds back a healthy one', async () => {
    const queueSize = 8
    // writeBatch 16 keeps the test small (the sink takes at most half the queue size anyway)
    const { server, metrics, port } = await startSidecar({ queueSize, writeBatch: 16 })
    // default 64 KiB HTTP/2 windows: a paused client fills them after a few messages
    const stalled = new Stream(connect(port))
    const healthy = new Stream(connect(port, clientChannelOptions({ keepaliveIntervalMs: 0, keepaliveTimeoutMs: 0 })))
    stalled.call.pause()
    stalled.subscribe('firehose')
    healthy.subscribe('firehose')
    await until(() => holders(server, 'firehose') === 2, 'subscriptions')
    const stalledId = server.streamStats().find((s) => s.peer && s.topics.includes('firehose'))!.id

    const publisher = connect(port)
    const total = 200
    const filler = 'x'.repeat(32 * 1024)
    let maxQueued = 0
    for (let i = 0; i < total; i++) {
      await publishUnary(publisher, { topic: 'firehose', data: Buffer.from(`${i}:${filler}`), message_id: `fh-${i}` })
      for (const stats of server.streamStats()) maxQueued = Math.max(maxQueued, stats.queued)
    }
    await until(() => healthy.messages().length === total, 'the healthy subscriber to get everything', 20_000)
    expect(healthy.messages().map((m) => m.MessageID)).toEqual(Array.from({ length: total }, (_, i) => `fh-${i}`))

    const stats = server.streamStats()
    const stalledStats = stats.find((s) => s.id === stalledId)!
    const healthyStats = stats.find((s) => s.id !== stalledId)!
    expect(stalledStats.dropped).toBeGreaterThan(0)
    expect(stalledStats.maxQueued).toBeLessThanOrEqual(queueSize)
    expect(maxQueued).toBeLessThanOrEqual(queueSize)
    expect(healthyStats.dropped).toBe(0)
    expect(await counterValue(metrics.queueDrops, 'firehose')).toBe(stalledStats.dropped)

    // once it reads again it gets what was kept: the newest messages, the last one included
    stalled.call.resume()
    await until(() => stalled.messages().some((m) => m.MessageID === `fh-${total - 1}`), 'the stalled stream to catch up')
    expect(stalled.messages().length).toBe(total - stalledStats.dropped)
    const ids = stalled.messages().map((m) => Number(m.MessageID.slice(3)))
    expect(ids).toEqual([...ids].sort((p, q) => p - q))
  })


  it('lets a subscriber that reads keep up with a publisher at full speed (no drops)', async () => {
    const { server, port } = await startSidecar({ queueSize: 1000 })
    const bigWindows = clientChannelOptions({ keepaliveIntervalMs: 0, keepaliveTimeoutMs: 0 })
    const subscriber = new Stream(connect(port, bigWindows))
    subscriber.subscribe('burst')
    await until(() => holders(server, 'burst') === 1, 'subscription')
    const publisher = new Stream(connect(port, bigWindows))
    const total = 20_000
    for (let i = 0; i < total; i++) {
      if (!publisher.call.write({ command: Command.Publish, topic: 'burst', data: Buffer.from(`b-${i}`) })) {
        await new Promise((resolve) => publisher.call.once('drain', resolve))
      }
    }
    publisher.call.end()
    expect((await publisher.ended(30_000)).code).toBe(grpc.status.OK)
    await until(() => subscriber.messages().length === total, 'every message', 30_000)
    expect(server.streamStats().map((s) => s.dropped)).toEqual([0])
    expect(subscriber.texts().slice(0, 3)).toEqual(['b-0', 'b-1', 'b-2'])
    expect(subscriber.texts().at(-1)).toBe(`b-${total - 1}`)
  })

  it('does not let a connection that stops reading at the TCP level hold back the node', async () => {
    const queueSize = 16
    const { server, port } = await startSidecar({ queueSize, writeBatch: 16 })
    const bigWindows = clientChannelOptions({ keepaliveIntervalMs: 0, keepaliveTimeoutMs: 0 })
    const relay = await tcpRelay(port)
    const frozen = new Stream(connect(relay.port, bigWindows))
    frozen.subscribe('flood')
    await until(() => holders(server, 'flood') === 1, 'the first subscription')
    const frozenId = server.streamStats().find((s) => s.topics.includes('flood'))!.id
    const healthy = new Stream(connect(port, bigWindows))
    healthy.subscribe('flood')
    await until(() => holders(server, 'flood') === 2, 'subscriptions')
    relay.stall() // the socket buffers fill, then HTTP/2 and grpc-js stop taking writes for that stream

    const publisher = connect(port)
    const total = 600
    const filler = Buffer.alloc(48 * 1024, 'y')
    for (let i = 0; i < total; i++) {
      await publishUnary(publisher, { topic: 'flood', data: filler, message_id: `fl-${i}` })
    }
    await until(() => healthy.messages().length === total, 'the healthy subscriber to get everything', 30_000)
    const stats = server.streamStats()
    expect(stats.find((s) => s.id === frozenId)!.dropped).toBeGreaterThan(0)
    expect(stats.find((s) => s.id !== frozenId)!.dropped).toBe(0)
    for (const s of stats) expect(s.maxQueued).toBeLessThanOrEqual(queueSize)
    expect(healthy.messages().map((m) => m.MessageID)).toEqual(Array.from({ length: total }, (_, i) => `fl-${i}`))
    await relay.close()
  })
})

describe('sidecar unary RPCs', () => {
  it('Publish acks with the id and publishing the same id twice is one message', async () => {
    const { server, engine, metrics, port } = await startSidecar()
    const client = connect(port)
    const s = new Stream(client)
    s.subscribe('once')
    await until(() => holders(server, 'once') === 1, 'subscription')

    const first = await publishUnary(client, { topic: 'once', data: Buffer.from('hello'), message_id: 'client-id-1' })
    expect(first).toEqual({ message_id: 'client-id-1', fresh: true })
    const again = await publishUnary(client, { topic: 'once', data: Buffer.from('hello'), message_id: 'client-id-1' })
    expect(again).toEqual({ message_id: 'client-id-1', fresh: false })
    const chosen = await publishUnary(client, { topic: 'once', data: Buffer.from('node picks the id') })
    expect(chosen.fresh).toBe(true)
    expect(chosen.message_id).toMatch(/^[\x21-\x7e]{1,128}$/)

    await until(() => s.messages().length === 2, 'two deliveries')
    // a marker proves no third delivery is on its way
    engine.inject('once', Buffer.from('marker'))
    await until(() => s.messages().length === 3, 'the marker')
    expect(s.messages().map((m) => m.MessageID)).toEqual(['client-id-1', chosen.message_id, expect.any(String)])
    expect(engine.published.length).toBe(2)
    expect(await counterValue(metrics.published, 'once')).toBe(2)
    expect(await counterValue(metrics.delivered, 'once')).toBe(3)
  })

  it('Publish of a seen id with another body is ALREADY_EXISTS; on a stream the error code is conflict', async () => {
    const { engine, port } = await startSidecar()
    const client = connect(port)
    expect(await publishUnary(client, { topic: 't', data: Buffer.from('first'), message_id: 'dup-1' })).toEqual({ message_id: 'dup-1', fresh: true })
    const conflict = await publishError(client, { topic: 't', data: Buffer.from('second'), message_id: 'dup-1' })
    expect(conflict.code).toBe(grpc.status.ALREADY_EXISTS)
    expect(conflict.details).toContain('different body')
    expect(engine.published.map((p) => Buffer.from(p.data).toString())).toEqual(['first'])

    const { OptimumError } = await import('../../common/errors.js')
    const s = new Stream(client)
    engine.failWith = new OptimumError('already_exists', 'message id x was already published with a different body')
    s.publish('t', 'again')
    await until(() => s.errors().length === 1, 'the error response')
    expect(s.errors()[0]).toMatchObject({ code: 'conflict', command: Command.Publish, topic: 't' })
  })

  it('maps Publish errors to gRPC status codes', async () => {
    const { engine, port } = await startSidecar()
    const client = connect(port)

    const empty = await publishError(client, { topic: '', data: Buffer.from('x') })
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT)
    expect(empty.details).toBe('topic is missing')
    expect(empty.metadata.get(ERROR_CODE_METADATA_KEY)).toEqual(['invalid_argument'])

    const big = await publishError(client, { topic: 't', data: Buffer.alloc(MAX_MESSAGE + 1) })
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(big.details).toContain(`the limit is ${MAX_MESSAGE} bytes`)
    expect(fromGrpcError(big).code).toBe('too_large')

    const badId = await publishError(client, { topic: 't', data: Buffer.from('x'), message_id: 'has space' })
    expect(badId.code).toBe(grpc.status.INVALID_ARGUMENT)

    const { OptimumError } = await import('../../common/errors.js')
    engine.failWith = new OptimumError('unavailable', 'no mesh peers yet')
    const down = await publishError(client, { topic: 't', data: Buffer.from('x') })
    expect(down.code).toBe(grpc.status.UNAVAILABLE)
    expect(fromGrpcError(down).code).toBe('unavailable')

    engine.failWith = new Error('secret internals')
    const internal = await publishError(client, { topic: 't', data: Buffer.from('x') })
    expect(internal.code).toBe(grpc.status.INTERNAL)
    expect(internal.details).not.toContain('secret')
  })

  it('Health reports the mode, usage, address and location; ListTopics the subscribed topics', async () => {
    const { server, port } = await startSidecar({
      identity: { p2pAddress: () => '/ip4/127.0.0.1/tcp/7070/p2p/12D3KooWTest', country: 'Germany', countryIso: 'DE' },
    })
    const client = connect(port)
    const health = await unary<Awaited<ReturnType<SidecarServerOptions['health']>> & { status: boolean; nodeMode: string }>(
      (cb) => client.Health({}, cb),
    )
    expect(health).toEqual({
      status: true,
      nodeMode: 'optimum',
      cpuUsed: 12.5,
      memoryUsed: 40.25,
      diskUsed: expect.closeTo(84.05, 4),
      p2pAddress: '/ip4/127.0.0.1/tcp/7070/p2p/12D3KooWTest',
      country: 'Germany',
      country_iso: 'DE',
    })

    expect(await unary((cb) => client.ListTopics({}, cb))).toEqual({ topics: [] })
    const s = new Stream(client)
    s.subscribe('one')
    s.subscribe('two')
    await until(() => holders(server, 'two') === 1, 'subscriptions')
    const list = await unary<{ topics: string[] }>((cb) => client.ListTopics({}, cb))
    expect(list.topics.sort()).toEqual(['one', 'two'])
  })
})

describe('sidecar limits', () => {
  it('refuses streams past the total and the per-connection caps with RESOURCE_EXHAUSTED', async () => {
    const { server, port } = await startSidecar({ limits: { maxStreams: 3, maxStreamsPerConnection: 2 } })
    const first = connect(port)
    const a = new Stream(first)
    const b = new Stream(first)
    const c = new Stream(first) // third on one connection
    for (const s of [a, b, c]) s.subscribe('cap')
    expect((await c.ended()).code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(c.status!.details).toContain('SIDECAR_MAX_STREAMS_PER_CONNECTION')
    const d = new Stream(connect(port)) // another connection: fine, 3 in all
    d.subscribe('cap')
    await until(() => holders(server, 'cap') === 3, 'three streams')
    const e = new Stream(connect(port)) // a fourth: over the total
    e.subscribe('cap')
    expect((await e.ended()).code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(e.status!.details).toContain('SIDECAR_MAX_STREAMS')
    // a slot frees when a stream ends
    a.call.cancel()
    await until(() => server.streamCount === 2, 'a to end')
    const f = new Stream(connect(port))
    f.subscribe('cap')
    await until(() => holders(server, 'cap') === 3, 'a new stream in the freed slot')
  })

  it('answers a subscribe past the per-stream topic cap with an error response', async () => {
    const { server, port } = await startSidecar({ limits: { maxTopicsPerStream: 2 } })
    const s = new Stream(connect(port))
    s.subscribe('one')
    s.subscribe('two')
    s.subscribe('one') // held already: not a new topic
    s.subscribe('three')
    await until(() => s.errors().length === 1, 'the refusal')
    expect(s.errors()[0]).toMatchObject({ code: 'resource_exhausted', command: Command.Subscribe, topic: 'three' })
    expect(server.streamStats()[0]!.topics.sort()).toEqual(['one', 'two'])
    s.send({ command: Command.Unsubscribe, topic: 'one' })
    s.subscribe('three')
    await until(() => holders(server, 'three') === 1, 'three after a slot freed')
  })

  it('refuses unary Publish calls past the in-flight cap with RESOURCE_EXHAUSTED', async () => {
    // each publish takes a second: the three calls are surely all in flight together
    const engine = new MemoryEngine({ maxMessageSize: MAX_MESSAGE, publishDelayMs: 1_000 })
    const { port } = await startSidecar({ engine, limits: { maxUnaryPublishes: 2 } })
    const client = connect(port)
    const settled = await Promise.allSettled([1, 2, 3].map((i) => publishUnary(client, { topic: 't', data: Buffer.from(`p-${i}`) })))
    const refused = settled.filter((r) => r.status === 'rejected')
    expect(refused).toHaveLength(1)
    expect(((refused[0] as PromiseRejectedResult).reason as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED)
    expect(engine.published).toHaveLength(2)
    // the slots are free again once those finished
    expect((await publishUnary(client, { topic: 't', data: Buffer.from('later') })).fresh).toBe(true)
  })
})

describe('sidecar lifecycle', () => {
  it('stop ends open streams with UNAVAILABLE, releases topics and resets the stream gauge', async () => {
    const { server, engine, metrics, port } = await startSidecar()
    const s = new Stream(connect(port))
    s.subscribe('bye')
    await until(() => holders(server, 'bye') === 1, 'subscription')
    expect((await metrics.sidecarStreams.get()).values[0]!.value).toBe(1)
    await server.stop(2_000)
    const status = await s.ended()
    expect(status.code).toBe(grpc.status.UNAVAILABLE)
    expect(engine.count('unsubscribe', 'bye')).toBe(1)
    expect((await metrics.sidecarStreams.get()).values[0]!.value).toBe(0)
  })

  it('stop forces connections closed after the grace period when a client does not read', async () => {
    const { server, engine, port } = await startSidecar({ queueSize: 4 })
    const s = new Stream(connect(port))
    s.call.pause()
    s.subscribe('stuck')
    await until(() => holders(server, 'stuck') === 1, 'subscription')
    for (let i = 0; i < 50; i++) engine.inject('stuck', Buffer.alloc(32 * 1024, i))
    await server.stop(300)
    s.call.resume()
    const status = await s.ended()
    expect(status.code).not.toBe(grpc.status.OK)
  })

  it('reports a port that is taken', async () => {
    const { port } = await startSidecar()
    const second = new SidecarServer(testSidecarOptions({ port, queueSize: 8 }))
    await expect(second.start()).rejects.toThrow(`sidecar cannot listen on 127.0.0.1:${port}`)
  })
})
