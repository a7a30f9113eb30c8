import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { SidecarServer } from '../sidecar/server.js'
import { TraceTap } from '../trace/tap.js'
import { MemoryEngine } from './support/memory-engine.js'
import { idleMetrics, testSidecarOptions } from './support/sidecar.js'
import { TraceClient } from './support/trace-client.js'
import { waitFor } from './support/wait.js'

const NODE = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

describe('sidecar trace queue', () => {
  const stops: Array<() => unknown> = []
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop()
  })

  it('drops and counts the oldest trace events of a stream that does not keep up; its messages still arrive', async () => {
    const tap = new TraceTap(silentLogger)
    const engine = new MemoryEngine()
    const metrics = idleMetrics()
    const server = new SidecarServer(
      testSidecarOptions({ engine, metrics, traces: { tap, mode: 'optimum', node: NODE, queueSize: 32, queueBytes: 1024 * 1024 } }),
    )
    const port = await server.start()
    stops.push(() => server.stop(100))
    const tracer = new TraceClient(port)
    stops.push(() => tracer.close())
    tracer.subscribe('t', true)
    await waitFor('the traced subscribe', () => server.streamStats()[0]?.tracedTopics.includes('t') === true)

    // One event-loop turn: the stream cannot read any of them before the queue is full.
    const events = 10_000
    for (let i = 0; i < events; i++) tap.emit({ kind: 'new_shard', topic: 't', messageId: `m${i}`, peer: NODE, coefficients: Uint8Array.of(i & 255) })
    const [stats] = server.streamStats()
    expect(stats!.traceDropped).toBeGreaterThanOrEqual(events - 32)
    expect(stats!.heldBytes).toBe(0) // the trace queue is its own: the message budget is untouched

    await engine.publish('t', Buffer.from('after the flood'))
    await waitFor('the message after the flood', () => tracer.messages.length === 1)
    await waitFor('the newest trace event', () => tracer.traces.some((t) => t.messageId === `m${events - 1}`))
    expect(tracer.traces.length).toBeLessThanOrEqual(32)
    const counted = (await metrics.registry.getSingleMetric('optimum_node_sidecar_trace_drops_total')!.get()).values
    expect(counted.reduce((sum, v) => sum + v.value, 0)).toBe(stats!.traceDropped)
  })

  it('sends no trace to a stream that subscribed without Request.trace, and stops after a re-subscribe without it', async () => {
    const tap = new TraceTap(silentLogger)
    const engine = new MemoryEngine()
    const server = new SidecarServer(testSidecarOptions({ engine, traces: { tap, mode: 'gossipsub', node: NODE } }))
    const port = await server.start()
    stops.push(() => server.stop(100))
    const plain = new TraceClient(port)
    const tracer = new TraceClient(port)
    stops.push(() => plain.close(), () => tracer.close())
    plain.subscribe('t', false)
    tracer.subscribe('t', true)
    await waitFor('both subscribes', () => server.streamStats().length === 2 && server.streamStats().every((s) => s.topics.includes('t')))

    tap.emit({ kind: 'graft', topic: 't', peer: NODE })
    tap.emit({ kind: 'add_peer', peer: NODE })
    tap.emit({ kind: 'graft', topic: 'other', peer: NODE })
    await engine.publish('t', Buffer.from('one'))
    await waitFor('message and traces', () => plain.messages.length === 1 && tracer.messages.length === 1 && tracer.traces.length === 2)
    expect(tracer.traces.map((t) => t.type)).toEqual([11, 4])
    expect(plain.commands).toEqual([1])

    tracer.subscribe('t', false)
    await waitFor('the re-subscribe', () => server.streamStats().every((s) => s.tracedTopics.length === 0))
    tap.emit({ kind: 'graft', topic: 't', peer: NODE })
    await engine.publish('t', Buffer.from('two'))
    await waitFor('the second message', () => tracer.messages.length === 2)
    expect(tracer.traces.length).toBe(2)
  })
})
