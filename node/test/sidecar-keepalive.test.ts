import type { EventEmitter } from 'node:events'
import type { ServerHttp2Session } from 'node:http2'
import * as grpc from '@grpc/grpc-js'
import { afterEach, expect, it } from 'vitest'
import { clientChannelOptions, MIN_KEEPALIVE_INTERVAL_MS } from '../../common/grpc-options.js'
import { Command, loadSidecarProto, ResponseType, type SidecarResponse } from '../../common/proto.js'
import { SidecarServer } from '../sidecar/server.js'
import { MemoryEngine } from './support/memory-engine.js'
import { testSidecarOptions } from './support/sidecar.js'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** Counts the HTTP/2 PING frames the server receives (test-only look into grpc-js's private server list). */
function countPings(sidecar: SidecarServer): () => number {
  let pings = 0
  const grpcServer = (sidecar as unknown as { server: { http2Servers: Map<EventEmitter, unknown> } }).server
  for (const http2Server of grpcServer.http2Servers.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => session.on('ping', () => pings++))
  }
  return () => pings
}

it(
  'accepts client keepalive pings every 10 s, on a stream and on an idle channel, without too_many_pings',
  async () => {
    const engine = new MemoryEngine()
    const sidecar = new SidecarServer(testSidecarOptions({ engine, queueSize: 16 }))
    const port = await sidecar.start()
    cleanup.push(() => sidecar.stop(2_000))
    const pings = countPings(sidecar)

    const { CommandStream } = loadSidecarProto()
    const options = {
      ...clientChannelOptions({ keepaliveIntervalMs: MIN_KEEPALIVE_INTERVAL_MS, keepaliveTimeoutMs: 5_000 }),
      'grpc.use_local_subchannel_pool': 1,
    }
    // one channel with a long-lived stream, one with no call at all after its first
    const streaming = new CommandStream(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options)
    const idle = new CommandStream(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options)
    cleanup.push(() => streaming.close(), () => idle.close())

    const call = streaming.ListenCommands()
    cleanup.push(() => call.cancel())
    const received: SidecarResponse[] = []
    let failure: unknown
    call.on('data', (response: SidecarResponse) => received.push(response))
    call.on('error', (err) => (failure = err))
    call.write({ command: Command.Subscribe, topic: 'keepalive' })
    await new Promise<void>((resolve, reject) => idle.Health({}, (err) => (err ? reject(err) : resolve())))

    const idleStates = new Set<grpc.connectivityState>()
    const watch = setInterval(() => idleStates.add(idle.getChannel().getConnectivityState(false)), 250)
    cleanup.push(() => clearInterval(watch))

    await new Promise((resolve) => setTimeout(resolve, 25_000))

    expect(failure).toBeUndefined()
    // the idle channel stayed connected: a GOAWAY would have sent it to IDLE or TRANSIENT_FAILURE
    expect([...idleStates]).toEqual([grpc.connectivityState.READY])
    expect(pings()).toBeGreaterThanOrEqual(2)
    // the stream still delivers
    engine.inject('keepalive', Buffer.from('still here'))
    const deadline = Date.now() + 5_000
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(received.map((r) => r.command)).toEqual([ResponseType.Message])
    await new Promise<void>((resolve, reject) => idle.Health({}, (err) => (err ? reject(err) : resolve())))
  },
  60_000,
)
