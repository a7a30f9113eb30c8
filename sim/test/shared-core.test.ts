import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import type { CoreOptions, Rpc } from '../../node/optimum/types.js'
import { MemoryNetwork } from '../../node/test/support/memory-network.js'
import { EventQueue } from '../../common/event-queue.js'
import { SimRandom } from '../random.js'
import { SimNetwork } from '../network.js'
import { SIM_TOPIC, type SimContext, type SimNode } from '../node-model.js'
import { messageBody, optimumNodeFactory } from '../optimum-model.js'
import { newTally } from '../wire-size.js'

/**
 * The simulator drives the protocol core itself, not a model of it: the same
 * scripted exchange between three nodes gives the same frames, at the same
 * virtual times, through the simulator's carrier as through the in-memory
 * network the core's own tests use.
 */
const CORE: CoreOptions = {
  mesh: { min: 1, target: 2, max: 4 },
  shardFactor: 4,
  shardMultiplier: 1.5,
  threshold: 0.75,
  maxMessageSize: 1024 * 1024,
  heartbeatMs: 1000,
}
const SEED = 5
const SIZE = 20_000
const KEYS = ['n0', 'n1', 'n2']

interface Sent {
  at: number
  from: string
  to: string
  rpc: Rpc
}

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

/** The script: subscribe, link n0–n1–n2, one heartbeat each (mesh), then n0 publishes. */
interface Carrier {
  subscribe(key: string): void
  connect(a: string, b: string): void
  heartbeat(key: string): void
  publish(key: string, data: Uint8Array, id: string): void
  runFor(ms: number): void
}

function script(carrier: Carrier): void {
  for (const key of KEYS) carrier.subscribe(key)
  carrier.connect('n0', 'n1')
  carrier.connect('n1', 'n2')
  carrier.runFor(50)
  for (const key of KEYS) carrier.heartbeat(key)
  carrier.runFor(50)
  carrier.publish('n0', messageBody({ core: CORE, kernel, payload: 'full', seed: SEED }, SIZE, 0), 'm0')
  carrier.runFor(500)
}

function throughMemoryNetwork(): Sent[] {
  const log: Sent[] = []
  const net = new MemoryNetwork({ seed: SEED, core: CORE, kernel, delayMs: 5, heartbeats: false })
  for (const key of KEYS) {
    net.addNode(key, {
      tamper: (to, rpc) => {
        log.push({ at: net.now, from: key, to, rpc: structuredClone(rpc) })
        return rpc
      },
    })
  }
  script({
    subscribe: (key) => net.node(key).core.subscribe(SIM_TOPIC),
    connect: (a, b) => net.connect(a, b),
    heartbeat: (key) => net.node(key).core.heartbeat(),
    publish: (key, data, id) => void net.node(key).core.publish(SIM_TOPIC, data, id),
    runFor: (ms) => net.runFor(ms),
  })
  expect(net.node('n2').delivered.map((d) => d.id)).toEqual(['m0'])
  return log
}

function throughSimulator(): Sent[] {
  const log: Sent[] = []
  const queue = new EventQueue()
  const network = new SimNetwork(queue, new SimRandom(1), { uplinkBytesPerMs: Infinity, downlinkBytesPerMs: Infinity, latencyMs: [5, 5], loss: 0, drainBelowBytes: Infinity })
  const send = network.send.bind(network)
  network.send = (from, to, bytes, frame) => {
    log.push({ at: queue.now, from, to, rpc: structuredClone(frame as Rpc) })
    return send(from, to, bytes, frame)
  }
  const delivered: string[] = []
  const ctx: SimContext = { queue, network, tally: newTally(), messageBytes: SIZE, delivered: (key, id) => delivered.push(`${key}:${id}`), dial: () => {} }
  const factory = optimumNodeFactory({ core: CORE, kernel, payload: 'full', seed: SEED })
  const nodes = new Map<string, SimNode>()
  KEYS.forEach((key, index) => {
    const node = factory(ctx, key, new SimRandom(SEED * 7919 + index + 1))
    nodes.set(key, node)
    network.addHost(key, node)
  })
  script({
    subscribe: (key) => nodes.get(key)!.subscribe(),
    connect: (a, b) => void network.connect(a, b),
    heartbeat: (key) => nodes.get(key)!.heartbeat(),
    publish: (key) => nodes.get(key)!.publish('m0', 0),
    runFor: (ms) => void queue.runUntil(() => false, queue.now + ms),
  })
  expect(delivered).toEqual(expect.arrayContaining(['n1:m0', 'n2:m0']))
  return log
}

describe('the simulator carries the protocol core itself', () => {
  it('gives the same frame sequence as the in-memory network for the same scripted exchange', () => {
    const memory = throughMemoryNetwork()
    const simulated = throughSimulator()
    expect(memory.filter((s) => (s.rpc.shards?.length ?? 0) > 0).length).toBeGreaterThanOrEqual(2)
    expect(simulated).toEqual(memory)
  })
})
