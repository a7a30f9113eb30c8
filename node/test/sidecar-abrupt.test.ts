import * as http2 from 'node:http2'
import * as grpc from '@grpc/grpc-js'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Command, loadSidecarProto, type SidecarRequest } from '../../common/proto.js'
import type { RunningNode } from '../node.js'
import { SidecarServer } from '../sidecar/server.js'
import { MemoryEngine } from './support/memory-engine.js'
import { meshReady, SidecarClient, startNetwork, stopAll, waitFor } from './support/network.js'
import { testSidecarOptions } from './support/sidecar.js'

/**
 * A publisher that writes N publishes on ListenCommands and then vanishes
 * without half-closing (the published Go client with -count and no -sleep
 * does this: GOAWAY, then the socket closes). Every publish the node received
 * must go out. Each test waits until the client's transport has taken every
 * byte, so what the node received is all of it.
 */
const N = 10_000

const serialize = (loadSidecarProto().CommandStream.service.ListenCommands as grpc.MethodDefinition<Partial<SidecarRequest>, unknown>)
  .requestSerialize

/** N publish requests as gRPC frames (flag 0, 4-byte length, the encoded Request). */
function publishFrames(topic: string, count: number): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const body = serialize({ command: Command.Publish, topic, data: Buffer.from(`m-${i}`) })
    const header = Buffer.alloc(5)
    header.writeUInt32BE(body.length, 1)
    parts.push(header, body)
  }
  return Buffer.concat(parts)
}

type AbruptEnd = 'connection' | 'goaway' | 'stream'

/**
 * Raw HTTP/2: open ListenCommands, write every frame, and once the session has
 * written them end without half-closing: 'connection' destroys the connection,
 * 'goaway' sends GOAWAY and then closes the connection (what the published Go
 * client does), 'stream' resets the stream (RST_STREAM CANCEL).
 */
async function publishAndVanish(port: number, topic: string, count: number, end: AbruptEnd): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${port}`)
  session.on('error', () => {})
  const stream = session.request({
    ':method': 'POST',
    ':path': '/proto.CommandStream/ListenCommands',
    'content-type': 'application/grpc',
    te: 'trailers',
  })
  stream.on('error', () => {})
  await new Promise<void>((resolve, reject) => stream.write(publishFrames(topic, count), (err) => (err ? reject(err) : resolve())))
  if (end === 'stream') {
    stream.close(http2.constants.NGHTTP2_CANCEL)
    await new Promise((resolve) => stream.once('close', resolve))
  }
  if (end === 'goaway') session.goaway(http2.constants.NGHTTP2_NO_ERROR)
  session.destroy()
}

describe('sidecar: a publisher that ends its stream abruptly', () => {
  const servers: SidecarServer[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop(2_000)))
  })

  // The engine takes a while per publish, as a real one does, so the stream has a backlog when it ends.
  const start = async () => {
    const engine = new MemoryEngine({ publishDelayMs: 1 })
    const server = new SidecarServer(testSidecarOptions({ engine, maxInflightPublishes: 64 }))
    servers.push(server)
    return { engine, server, port: await server.start() }
  }

  const expectAllInOrder = (engine: MemoryEngine) =>
    expect(engine.published.map((p) => Buffer.from(p.data).toString())).toEqual(Array.from({ length: N }, (_, i) => `m-${i}`))

  it.each<[string, AbruptEnd]>([
    ['the connection was destroyed', 'connection'],
    ['a GOAWAY and a closed connection', 'goaway'],
    ['the stream was reset', 'stream'],
  ])('publishes every request received before %s, in order', async (_, end) => {
    const { engine, server, port } = await start()
    await publishAndVanish(port, 'abrupt', N, end)
    await waitFor(`${N} publishes`, () => engine.published.length >= N && server.streamStats().length === 0, 30_000)
    expectAllInOrder(engine)
  }, 40_000)
})

describe('gossipsub network: a publisher that vanishes without half-closing', () => {
  let nodes: RunningNode[]
  const clients: SidecarClient[] = []
  beforeAll(async () => {
    nodes = await startNetwork(2, 'gossipsub')
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await stopAll(nodes)
  })

  it(`a subscriber on another node receives all ${N}`, async () => {
    const subscriber = new SidecarClient(nodes[0]!.ports.sidecar)
    clients.push(subscriber)
    subscriber.subscribe('vanish')
    const anchor = new SidecarClient(nodes[1]!.ports.sidecar)
    clients.push(anchor)
    anchor.subscribe('vanish')
    await waitFor('topic mesh', meshReady(nodes, 'vanish', 1))

    await publishAndVanish(nodes[1]!.ports.sidecar, 'vanish', N, 'connection')
    await waitFor(`${N} deliveries`, () => subscriber.received.length >= N, 60_000)
    const texts = new Set(subscriber.received.map((m) => m.data.toString()))
    expect(texts.size).toBe(N)
    console.log(`[gossipsub] abrupt disconnect: sent ${N}, received ${texts.size}`)
  }, 90_000)
})
