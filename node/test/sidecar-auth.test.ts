/**
 * SIDECAR_AUTH: the sidecar checks `jwt_token` on stream publishes and
 * subscribes, and Bearer metadata on the unary Publish, against a local JWKS
 * server with generated RSA keys. Refused requests publish nothing: each test
 * ends with a valid publish on the same stream, which acts after every earlier
 * request (requests act in order), so the engine's list is final when it shows.
 */
import * as grpc from '@grpc/grpc-js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { JwtVerifier } from '../../common/auth/jwt-verifier.js'
import { Command, ResponseType, type CommandStreamClient, type DeliveredMessageJson, type PublishAck, type SidecarRequest, type SidecarResponse } from '../../common/proto.js'
import { connectSidecar } from '../../common/sidecar-client.js'
import { JwksServer, signingKey, signToken, type SigningKey, type TokenOptions } from '../../common/test/support/jwks.js'
import { MAX_TOKEN_CHARS, SidecarAuth } from '../sidecar/auth.js'
import type { StreamErrorJson } from '../sidecar/commands.js'
import { SidecarServer } from '../sidecar/server.js'
import { MemoryEngine } from './support/memory-engine.js'
import { testSidecarOptions } from './support/sidecar.js'
import { waitFor } from './support/wait.js'

const AUDIENCE = 'https://optimum.test/api'
const jwks = new JwksServer()
let key: SigningKey
let otherKey: SigningKey
const servers: SidecarServer[] = []
const clients: grpc.Client[] = []

beforeAll(async () => {
  await jwks.start()
  key = await signingKey('key-1')
  // same kid, another key pair: a forged signature
  otherKey = { ...(await signingKey('key-1')), publicJwk: key.publicJwk }
  jwks.published = [key]
})

afterAll(() => jwks.stop())

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(servers.splice(0).map((server) => server.stop(2_000)))
})

function token(claims: Record<string, unknown> = {}, options: Partial<TokenOptions> = {}): Promise<string> {
  return signToken({ key, issuer: jwks.issuer, audience: AUDIENCE, claims: { sub: 'client-1', ...claims }, ...options })
}

async function startSidecar(auth: boolean) {
  const engine = new MemoryEngine()
  const verifier = new JwtVerifier({ jwksUrl: jwks.url, issuer: jwks.issuer, audience: AUDIENCE })
  const server = new SidecarServer(testSidecarOptions({ engine, ...(auth && { auth: new SidecarAuth(verifier) }) }))
  const port = await server.start()
  servers.push(server)
  return { server, engine, port }
}

function client(port: number, jwt?: string): CommandStreamClient {
  const c = connectSidecar(`127.0.0.1:${port}`, jwt === undefined ? {} : { token: jwt })
  clients.push(c)
  return c
}

class Stream {
  readonly call: grpc.ClientDuplexStream<Partial<SidecarRequest>, SidecarResponse>
  readonly responses: SidecarResponse[] = []
  status: grpc.StatusObject | undefined

  constructor(c: CommandStreamClient) {
    this.call = c.ListenCommands()
    this.call.on('data', (response: SidecarResponse) => this.responses.push(response))
    this.call.on('status', (status: grpc.StatusObject) => (this.status = status))
    this.call.on('error', () => {
      // seen through status
    })
  }

  send(request: Partial<SidecarRequest>): void {
    this.call.write(request)
  }

  errors(): StreamErrorJson[] {
    return this.responses.filter((r) => r.command === ResponseType.Unknown).map((r) => JSON.parse(Buffer.from(r.data).toString()) as StreamErrorJson)
  }

  texts(): string[] {
    return this.responses
      .filter((r) => r.command === ResponseType.Message)
      .map((r) => Buffer.from((JSON.parse(Buffer.from(r.data).toString()) as DeliveredMessageJson).Message, 'base64').toString())
  }
}

const publishedTexts = (engine: MemoryEngine) => engine.published.map((p) => Buffer.from(p.data).toString())

function unaryPublish(c: CommandStreamClient, text: string, metadata = new grpc.Metadata()): Promise<PublishAck> {
  return new Promise((resolve, reject) =>
    c.Publish({ topic: 't', data: Buffer.from(text) }, metadata, (err, ack) => (err ? reject(err) : resolve(ack!))))
}

describe('sidecar with SIDECAR_AUTH on', () => {
  it('refuses every bad token on a stream with an error response, publishes nothing, and keeps the stream', async () => {
    const { engine, port } = await startSidecar(true)
    const cases: Array<[string, string | undefined, string, RegExp]> = [
      ['none', undefined, 'unauthenticated', /missing jwt_token/],
      ['expired', await token({}, { expiresIn: -60 }), 'unauthenticated', /expired/],
      ['not yet valid', await token({}, { notBefore: 600 }), 'unauthenticated', /not yet valid/],
      ['too long', 'x'.repeat(MAX_TOKEN_CHARS + 1), 'unauthenticated', /longer than/],
      ['garbage', 'not-a-jwt', 'unauthenticated', /malformed/],
      ['wrong issuer', await token({}, { issuer: 'https://someone-else.test/' }), 'unauthenticated', /wrong issuer/],
      ['wrong audience', await token({}, { audience: 'https://other.test/api' }), 'unauthenticated', /wrong audience/],
      ['forged', await token({}, { key: otherKey }), 'unauthenticated', /signature does not verify/],
      ['inactive', await token({ is_active: false }), 'permission_denied', /not active/],
      ['inactive string', await token({ is_active: 'false' }), 'permission_denied', /not active/],
    ]
    const stream = new Stream(client(port))
    for (const [name, jwt] of cases) stream.send({ command: Command.Publish, topic: 't', data: Buffer.from(name), ...(jwt && { jwt_token: jwt }) })
    stream.send({ command: Command.Publish, topic: 't', data: Buffer.from('valid'), jwt_token: await token({ is_active: 'true' }) })
    await waitFor('the valid publish', () => engine.published.length > 0)
    await waitFor('every refusal', () => stream.errors().length === cases.length)
    expect(publishedTexts(engine)).toEqual(['valid'])
    expect(stream.errors().map((e) => [e.code, e.error])).toEqual(cases.map(([, , code, error]) => [code, expect.stringMatching(error)]))
    expect(stream.errors().every((e) => e.command === Command.Publish && e.topic === 't')).toBe(true)
    expect(stream.status).toBeUndefined()
  })

  it('refuses a subscribe without a valid token (no delivery), delivers to one with', async () => {
    const { engine, server, port } = await startSidecar(true)
    const refused = new Stream(client(port))
    const allowed = new Stream(client(port))
    refused.send({ command: Command.Subscribe, topic: 't' })
    refused.send({ command: Command.Subscribe, topic: 't', jwt_token: await token({}, { expiresIn: -60 }) })
    allowed.send({ command: Command.Subscribe, topic: 't', jwt_token: await token() })
    await waitFor('both refusals', () => refused.errors().length === 2)
    await waitFor('the allowed subscription', () => server.streamStats().some((s) => s.topics.includes('t')))
    expect(refused.errors().map((e) => e.code)).toEqual(['unauthenticated', 'unauthenticated'])
    expect(server.streamStats().filter((s) => s.topics.includes('t'))).toHaveLength(1)

    const publisher = new Stream(client(port))
    publisher.send({ command: Command.Publish, topic: 't', data: Buffer.from('hello'), jwt_token: await token() })
    await waitFor('the delivery', () => allowed.texts().length === 1)
    expect(allowed.texts()).toEqual(['hello'])
    expect(refused.texts()).toEqual([])
    expect(publishedTexts(engine)).toEqual(['hello'])
  })

  it('keeps arrival order while tokens are checked: subscribe, then unsubscribe, leaves no subscription', async () => {
    const { server, port } = await startSidecar(true)
    const stream = new Stream(client(port))
    const jwt = await token()
    stream.send({ command: Command.Subscribe, topic: 'a', jwt_token: jwt })
    stream.send({ command: Command.Unsubscribe, topic: 'a' })
    stream.send({ command: Command.Subscribe, topic: 'b', jwt_token: jwt })
    await waitFor('b subscribed', () => server.streamStats().some((s) => s.topics.includes('b')))
    expect(server.streamStats()[0]!.topics).toEqual(['b'])
    for (let i = 0; i < 50; i++) stream.send({ command: Command.Publish, topic: 'b', data: Buffer.from(String(i)), jwt_token: jwt })
    await waitFor('50 deliveries', () => stream.texts().length === 50)
    expect(stream.texts()).toEqual(Array.from({ length: 50 }, (_, i) => String(i)))
  })

  it('unary Publish: UNAUTHENTICATED without or with a bad Bearer token, PERMISSION_DENIED when inactive, published with a valid one', async () => {
    const { engine, port } = await startSidecar(true)
    const status = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (err: grpc.ServiceError) => err.code)
    expect(await status(unaryPublish(client(port), 'none'))).toBe(grpc.status.UNAUTHENTICATED)
    const notBearer = new grpc.Metadata()
    notBearer.set('authorization', await token())
    expect(await status(unaryPublish(client(port), 'not bearer', notBearer))).toBe(grpc.status.UNAUTHENTICATED)
    expect(await status(unaryPublish(client(port, await token({}, { key: otherKey })), 'forged'))).toBe(grpc.status.UNAUTHENTICATED)
    expect(await status(unaryPublish(client(port, await token({}, { audience: 'x' })), 'wrong audience'))).toBe(grpc.status.UNAUTHENTICATED)
    expect(await status(unaryPublish(client(port, await token({ is_active: false })), 'inactive'))).toBe(grpc.status.PERMISSION_DENIED)
    expect(publishedTexts(engine)).toEqual([])
    const ack = await unaryPublish(client(port, await token()), 'valid')
    expect(ack.fresh).toBe(true)
    expect(publishedTexts(engine)).toEqual(['valid'])
  })

  it('verifies a token once while it is reused (the key set is fetched once)', async () => {
    const { engine, port } = await startSidecar(true)
    const before = jwks.fetches
    const jwt = await token()
    const stream = new Stream(client(port))
    for (let i = 0; i < 20; i++) stream.send({ command: Command.Publish, topic: 't', data: Buffer.from(String(i)), jwt_token: jwt })
    await waitFor('20 publishes', () => engine.published.length === 20)
    expect(jwks.fetches - before).toBe(1)
    expect(stream.errors()).toEqual([])
  })

  it('answers unavailable while the key set cannot be fetched, and publishes nothing', async () => {
    const engine = new MemoryEngine()
    const verifier = new JwtVerifier({ jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json', issuer: jwks.issuer, audience: AUDIENCE })
    const server = new SidecarServer(testSidecarOptions({ engine, auth: new SidecarAuth(verifier) }))
    servers.push(server)
    const stream = new Stream(client(await server.start()))
    stream.send({ command: Command.Publish, topic: 't', data: Buffer.from('x'), jwt_token: await token() })
    await waitFor('the refusal', () => stream.errors().length === 1)
    expect(stream.errors()[0]).toMatchObject({ code: 'unavailable', error: expect.stringMatching(/cannot fetch the token signing keys/) })
    expect(engine.published).toEqual([])
  })
})

describe('sidecar with SIDECAR_AUTH off (the default)', () => {
  it('is open: no token needed on streams or the unary Publish, and a token is ignored', async () => {
    const { engine, port } = await startSidecar(false)
    const stream = new Stream(client(port))
    stream.send({ command: Command.Subscribe, topic: 't' })
    stream.send({ command: Command.Publish, topic: 't', data: Buffer.from('open') })
    stream.send({ command: Command.Publish, topic: 't', data: Buffer.from('any token'), jwt_token: 'not-a-jwt' })
    await waitFor('both deliveries', () => stream.texts().length === 2)
    expect(stream.texts()).toEqual(['open', 'any token'])
    await unaryPublish(client(port), 'unary')
    expect(publishedTexts(engine)).toEqual(['open', 'any token', 'unary'])
    expect(stream.errors()).toEqual([])
  })
})
