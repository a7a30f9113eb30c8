import type { Kernel } from '../common/rlnc/index.js'
import { DEFAULT_LIMITS } from '../node/optimum/limits.js'
import { EventQueue } from '../common/event-queue.js'
import { SimRandom } from './random.js'
import { gossipNodeFactory } from './gossip-model.js'
import { SimNetwork } from './network.js'
import type { NodeFactory, SimContext, SimNode } from './node-model.js'
import { optimumNodeFactory, type PayloadMode } from './optimum-model.js'
import { percentile, round } from './stats.js'
import { dialTargets, randomConnections } from './topology.js'
import { FRAME_KINDS, newTally } from './wire-size.js'

export type SimMode = 'optimum' | 'gossip'

export interface SimConfig {
  mode: SimMode
  nodes: number
  /** Message size in bytes. */
  size: number
  messages: number
  /** Messages published per second (virtual time), each by a random live node. */
  rate: number
  uplinkMbps: number
  downlinkMbps: number
  latencyMs: [number, number]
  loss: number
  seed: number
  /** Peers each node dials at start (and a joining node dials). */
  dials: number
  /** Most connections a node accepts from peer exchange. */
  maxConnections: number
  /** Nodes replaced per second (one leaves, a new one joins), during the publishing phase. */
  churn: number
  shardFactor: number
  shardMultiplier: number
  threshold: number
  mesh: { min: number; target: number; max: number }
  heartbeatMs: number
  payload: PayloadMode
  /** Gossip baseline: the publisher sends to every connected peer (gossipsub's default). */
  floodPublish: boolean
  /** Virtual time for meshes to form before the first publish. */
  warmupMs: number
  /** Most virtual time after the last publish for the stragglers. */
  drainMs: number
}

export const DEFAULT_CONFIG: SimConfig = {
  mode: 'optimum',
  nodes: 100,
  size: 1024 * 1024,
  messages: 10,
  rate: 0.2,
  uplinkMbps: 20,
  downlinkMbps: 100,
  latencyMs: [20, 80],
  loss: 0.01,
  seed: 1,
  dials: 8,
  maxConnections: 40,
  churn: 0,
  shardFactor: 4,
  shardMultiplier: 1.5,
  threshold: 0.75,
  mesh: { min: 3, target: 6, max: 12 },
  heartbeatMs: 1000,
  payload: 'modelled',
  floodPublish: true,
  warmupMs: 5000,
  drainMs: 120_000,
}

export interface SimResult {
  mode: SimMode
  payload: PayloadMode
  nodes: number
  messages: number
  size: number
  seed: number
  /** Delivered (node, message) pairs ÷ pairs due (nodes present from publish to the end, publisher excluded). */
  completeness: number
  /** Publish to the last due node's delivery, over messages that reached every due node (ms). */
  timeToAll: { p50: number | null; p99: number | null; max: number | null; complete: number }
  /** Publish to each node's delivery, over all delivered pairs (ms). */
  delivery: { p50: number | null; p90: number | null; p99: number | null; max: number | null }
  /**
   * Bytes sent by all nodes ÷ (message size × nodes × messages), as bench:node
   * counts it (nodes: the due ones plus the publisher, per message). ≈ 1.0 is
   * every node receiving each byte once.
   */
  amplification: number
  bytesSent: number
  bytesByKind: Record<string, number>
  /** The run ended because every due pair was delivered (false: it hit the drain limit). */
  finished: boolean
  virtualMs: number
  events: number
  wallMs: number
  joined: number
  left: number
}

export interface RunHooks {
  kernel: Kernel
  /** Called about every 2 s of wall time. */
  progress?: (line: string) => void
  /** Per-node random stream (default: seeded from the run seed and the node's index). */
  nodeRandom?: (index: number) => SimRandom
}

interface Member {
  node: SimNode
  index: number
  /** Message indices this node is due and has not delivered. */
  pending: Set<number>
  /** Deliveries while due: message index → ms after publish. */
  latencies: Map<number, number>
}

export function runSimulation(config: SimConfig, hooks: RunHooks): SimResult {
  const began = performance.now()
  const random = new SimRandom(config.seed)
  const queue = new EventQueue()
  const bandwidth = (mbps: number): number => (mbps > 0 ? (mbps * 1e6) / 8 / 1000 : Infinity)
  const network = new SimNetwork(queue, new SimRandom(config.seed ^ 0x5eed), {
    uplinkBytesPerMs: bandwidth(config.uplinkMbps),
    downlinkBytesPerMs: bandwidth(config.downlinkMbps),
    latencyMs: config.latencyMs,
    loss: config.loss,
    drainBelowBytes: config.mode === 'optimum' ? DEFAULT_LIMITS.backlogBytes : Infinity,
  })
  const tally = newTally()
  const members = new Map<string, Member>()
  const ids = new Map<string, number>()
  const publishedAt: number[] = []
  let outstanding = 0
  let left = 0

  const ctx: SimContext = {
    queue,
    network,
    tally,
    messageBytes: config.size,
    delivered: (key, id) => {
      const member = members.get(key)
      const index = ids.get(id)
      if (member === undefined || index === undefined || !member.pending.delete(index)) return
      outstanding--
      member.latencies.set(index, queue.now - publishedAt[index])
    },
    dial: (from, to) => {
      if (network.degree(from) < config.maxConnections && network.degree(to) < config.maxConnections) network.connect(from, to)
    },
  }
  const factory = nodeFactory(config, hooks.kernel)
  let created = 0
  const keys: string[] = []
  const join = (): string => {
    const index = created++
    const key = `n${index}`
    const nodeRandom = hooks.nodeRandom?.(index) ?? new SimRandom(config.seed * 7919 + index + 1)
    const node = factory(ctx, key, nodeRandom)
    members.set(key, { node, index, pending: new Set(), latencies: new Map() })
    network.addHost(key, node)
    node.subscribe()
    keys.push(key)
    const tick = (): void => {
      if (!members.has(key)) return
      node.heartbeat()
      queue.after(config.heartbeatMs, tick)
    }
    queue.after(1 + random.int(config.heartbeatMs), tick)
    return key
  }
  const leave = (key: string): void => {
    const member = members.get(key)!
    outstanding -= member.pending.size
    left++
    member.node.stop()
    members.delete(key)
    network.removeHost(key)
    keys.splice(keys.indexOf(key), 1)
  }

  for (let i = 0; i < config.nodes; i++) join()
  for (const [a, b] of randomConnections(random, keys, config.dials)) network.connect(a, b)

  const firstPublish = config.warmupMs
  const interval = 1000 / config.rate
  for (let m = 0; m < config.messages; m++) {
    queue.at(firstPublish + m * interval, () => {
      const publisher = random.pick(keys)
      const id = `m${m}`
      ids.set(id, m)
      publishedAt[m] = queue.now
      for (const [key, member] of members) {
        if (key === publisher) continue
        member.pending.add(m)
        outstanding++
      }
      members.get(publisher)!.node.publish(id, m)
    })
  }
  const lastPublish = firstPublish + (config.messages - 1) * interval
  if (config.churn > 0) {
    const churn = (): void => {
      if (queue.now > lastPublish) return
      leave(random.pick(keys))
      const key = join()
      for (const peer of dialTargets(random, keys, key, config.dials)) network.connect(key, peer)
      queue.after(-Math.log(1 - random.next()) * (1000 / config.churn), churn)
    }
    queue.at(firstPublish + -Math.log(1 - random.next()) * (1000 / config.churn), churn)
  }

  let published = 0
  queue.at(lastPublish, () => (published = config.messages))
  let nextReport = performance.now() + 2000
  let checks = 0
  const finished = queue.runUntil(() => {
    if (hooks.progress !== undefined && ++checks % 4096 === 0 && performance.now() >= nextReport) {
      nextReport = performance.now() + 2000
      hooks.progress(`t=${(queue.now / 1000).toFixed(1)} s virtual, ${queue.processed} events, ${outstanding} deliveries outstanding`)
    }
    return published === config.messages && outstanding === 0
  }, lastPublish + config.drainMs)
  for (const member of members.values()) member.node.stop()
  return summarise(config, members, tally, { finished, queue, began, joined: created - config.nodes, left })
}

function nodeFactory(config: SimConfig, kernel: Kernel): NodeFactory {
  if (config.mode === 'gossip') return gossipNodeFactory({ mesh: config.mesh, heartbeatMs: config.heartbeatMs, floodPublish: config.floodPublish })
  return optimumNodeFactory({
    kernel,
    payload: config.payload,
    seed: config.seed,
    core: {
      mesh: config.mesh,
      shardFactor: config.shardFactor,
      shardMultiplier: config.shardMultiplier,
      threshold: config.threshold,
      maxMessageSize: Math.max(config.size, 1024),
      heartbeatMs: config.heartbeatMs,
    },
  })
}

function summarise(
  config: SimConfig,
  members: Map<string, Member>,
  tally: Float64Array,
  run: { finished: boolean; queue: EventQueue; began: number; joined: number; left: number },
): SimResult {
  const perMessage: number[][] = Array.from({ length: config.messages }, () => [])
  const all: number[] = []
  let missing = 0
  const incomplete = new Set<number>()
  for (const member of members.values()) {
    for (const [m, ms] of member.latencies) {
      perMessage[m].push(ms)
      all.push(ms)
    }
    missing += member.pending.size
    for (const m of member.pending) incomplete.add(m)
  }
  all.sort((a, b) => a - b)
  const toAll = perMessage.filter((_, m) => !incomplete.has(m)).map((list) => Math.max(0, ...list)).sort((a, b) => a - b)
  const due = all.length + missing
  const bytesSent = tally.reduce((a, b) => a + b, 0)
  return {
    mode: config.mode,
    payload: config.payload,
    nodes: config.nodes,
    messages: config.messages,
    size: config.size,
    seed: config.seed,
    completeness: due === 0 ? 1 : round(all.length / due, 6)!,
    timeToAll: { p50: round(percentile(toAll, 50)), p99: round(percentile(toAll, 99)), max: round(toAll.at(-1)), complete: toAll.length },
    delivery: { p50: round(percentile(all, 50)), p90: round(percentile(all, 90)), p99: round(percentile(all, 99)), max: round(all.at(-1)) },
    amplification: due === 0 ? 0 : round(bytesSent / (config.size * (due + config.messages)), 3)!,
    bytesSent,
    bytesByKind: Object.fromEntries(FRAME_KINDS.map((kind, i) => [kind, tally[i]])),
    finished: run.finished,
    virtualMs: Math.round(run.queue.now),
    events: run.queue.processed,
    wallMs: Math.round(performance.now() - run.began),
    joined: run.joined,
    left: run.left,
  }
}
