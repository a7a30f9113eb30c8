import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import * as grpc from '@grpc/grpc-js'
import { afterEach, describe, expect, it } from 'vitest'
import { Command, loadSidecarProto, type SidecarResponse } from '../../common/proto.js'
import { SidecarServer } from '../sidecar/server.js'
import { MemoryEngine } from './support/memory-engine.js'
import { waitFor } from './support/network.js'
import { idleMetrics, testSidecarOptions } from './support/sidecar.js'
import { tcpRelay, type TcpRelay } from './support/tcp-relay.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
setFlagsFromString('--no-expose-gc')

const MiB = 1024 * 1024

/** RSS after a full collection: what the process really holds, not garbage waiting for the collector. */
function heldRss(): number {
  gc()
  gc()
  return process.memoryUsage().rss
}

/**
 * The documented slack on top of SIDECAR_QUEUE_BYTES for one stalled stream
 * (node/sidecar/README.md): one response larger than the budget that is
 * still held alone, the HTTP/2 window's worth of frames, and allocator and
 * V8 heap noise.
 */
const SLACK = 24 * MiB

describe('sidecar memory for a subscriber stalled at the TCP level', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step()
  })

  it('stays within SIDECAR_QUEUE_BYTES plus a constant, and counts the drops', async () => {
    const queueBytes = 8 * MiB
    const engine = new MemoryEngine({ maxMessageSize: MiB })
    const metrics = idleMetrics()
    const server = new SidecarServer(testSidecarOptions({ engine, metrics, queueBytes, queueSize: 10_000, maxMessageSize: MiB }))
    const port = await server.start()
    cleanup.push(() => server.stop(1_000))
    const relay: TcpRelay = await tcpRelay(port)
    cleanup.push(() => relay.close())

    // default client windows: 64 KiB per stream, so HTTP/2 itself holds little
    const { CommandStream } = loadSidecarProto()
    const client = new CommandStream(`127.0.0.1:${relay.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
    cleanup.push(() => client.close())
    const call = client.ListenCommands()
    call.on('error', () => {})
    call.on('data', (_: SidecarResponse) => {})
    call.write({ command: Command.Subscribe, topic: 'flood' })
    await waitFor('the subscription', () => server.streamStats().some((s) => s.topics.includes('flood')))
    relay.stall()

    const before = heldRss()
    const count = 120
    for (let i = 0; i < count; i++) {
      engine.inject('flood', Buffer.alloc(MiB, i))
      // let grpc-js and the sockets move what they can, as they would between arriving messages
      await new Promise((resolve) => setImmediate(resolve))
    }
    const growth = heldRss() - before
    const [stats] = server.streamStats()
    console.log(
      `stalled subscriber: ${count} × 1 MiB delivered, SIDECAR_QUEUE_BYTES=${queueBytes / MiB} MiB, ` +
        `RSS growth ${(growth / MiB).toFixed(1)} MiB, dropped ${stats!.dropped}`,
    )
    expect(growth).toBeLessThan(queueBytes + SLACK)
    expect(stats!.dropped).toBeGreaterThan(0)
    const { values } = await metrics.queueDrops.get()
    expect(values.find((v) => v.labels.topic === 'flood')?.value).toBe(stats!.dropped)
  }, 60_000)
})
