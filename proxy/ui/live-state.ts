import type { Logger } from '../../common/logger.js'
import type { CommandStreamClient, HealthResponse } from '../../common/proto.js'
import { connectSidecar } from '../../common/sidecar-client.js'
import { TraceType, type TraceRecord } from '../../common/trace-codec.js'
import type { NodeStatus } from '../nodes/node-pool.js'
import type { Arrival, ProxyStore, SubscriptionChange } from '../store/store.js'

/** Messages the timeline keeps (the newest). */
const TIMELINE_MESSAGES = 50
/** Clients per topic whose thresholds the timeline shows. */
const CLIENTS_PER_TOPIC = 50
/** Topics whose mesh is followed, per node. */
const MAX_TOPICS = 256
const HEALTH_MS = 2_000

interface NodeLive {
  address: string
  peerId: string
  health?: { cpu: number; memory: number; status: boolean }
}

/** Nodes whose meshes are followed (traces come from our own nodes; this only bounds a restart's new ids). */
const MAX_TRACED_NODES = 1024

interface MessageLive {
  id: string
  topic: string
  published?: number
  publisher?: string
  size?: number
  /** Per node peer id: first shard and decode times, ms. */
  nodes: Map<string, { firstShard?: number; decoded?: number }>
  /** Receipt times at this proxy, in order (one per node). */
  arrivals: number[]
}

export interface LiveNode {
  address: string
  state: string
  peer_id: string
  cpu: number | null
  memory: number | null
  mesh: Record<string, string[]>
}

export interface LiveMessage {
  id: string
  topic: string
  size: number | null
  published: number | null
  publisher: string | null
  nodes: Record<string, { first_shard: number | null; decoded: number | null }>
  /** Per subscribed client: its threshold, the nodes that needed, and when the cluster reached them (this replica's receipts). */
  thresholds: Array<{ client: string; threshold: number; needed: number; met_at: number | null }>
}

export interface LiveView {
  nodes: LiveNode[]
  topics: string[]
  messages: LiveMessage[]
}

export interface LiveStateOptions {
  nodes(): NodeStatus[]
  store: Pick<ProxyStore, 'clientTopics'>
  log: Logger
}

/**
 * What the live view shows, as this replica sees it: every node's health
 * (its sidecar's Health, polled), link state and mesh per topic (from its
 * GRAFT and PRUNE traces), and a timeline of the newest messages (first
 * shard and decode per node from the traces, each subscribed client's
 * threshold from the receipts). Bounded: TIMELINE_MESSAGES messages,
 * CLIENTS_PER_TOPIC clients and MAX_TOPICS meshes per node. Owns its health
 * poll: `start`, `stop`.
 */
export class LiveState {
  private readonly nodes = new Map<string, NodeLive>()
  /** Per node peer id (as its traces name it): topic → mesh peers, from its GRAFT / PRUNE traces. */
  private readonly meshes = new Map<string, Map<string, Set<string>>>()
  private readonly messages = new Map<string, MessageLive>()
  private readonly clients = new Map<string, Map<string, number>>()
  private readonly health = new Map<string, CommandStreamClient>()
  private timer: NodeJS.Timeout | undefined
  /** Bumped on every change: the feed sends a frame only when it moved. */
  version = 0

  constructor(private readonly options: LiveStateOptions) {
    for (const { address } of options.nodes()) this.nodes.set(address, { address, peerId: '' })
  }

  start(): void {
    for (const address of this.nodes.keys()) this.health.set(address, connectSidecar(address))
    this.pollHealth()
    this.timer ??= setInterval(() => this.pollHealth(), HEALTH_MS)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    for (const client of this.health.values()) client.close()
    this.health.clear()
  }

  readonly onTrace = (event: TraceRecord): void => {
    if (event.peer !== undefined) this.followMesh(event.node, event.type, event.topic, event.peer)
    if (event.messageId === undefined) return
    if (event.type === TraceType.PUBLISH_MESSAGE) {
      const message = this.messageOf(event.messageId, event.topic)
      message.published = event.timeMs
      message.publisher = event.node
    } else if (event.type === TraceType.NEW_SHARD || event.type === TraceType.DELIVER_MESSAGE) {
      const message = this.messageOf(event.messageId, event.topic)
      let times = message.nodes.get(event.node)
      if (times === undefined) message.nodes.set(event.node, (times = {}))
      if (event.type === TraceType.NEW_SHARD) times.firstShard ??= event.timeMs
      else times.decoded ??= event.timeMs
    } else {
      return
    }
    this.changed()
  }

  readonly onArrival = (arrival: Arrival): void => {
    const message = this.messageOf(arrival.messageId, arrival.topic)
    message.size ??= arrival.data.length
    message.arrivals.push(Date.now())
    this.changed()
  }

  /** Subscription changes in the cluster: keep the thresholds of the clients of each topic. */
  readonly onClients = (changes: SubscriptionChange[]): void => {
    for (const change of changes) {
      if (change.op === 'unsubscribe') {
        this.clients.get(change.topic)?.delete(change.clientId)
        this.changed()
        continue
      }
      this.options.store.clientTopics(change.clientId).then(
        (topics) => {
          const threshold = topics.get(change.topic)
          if (threshold === undefined) return
          let clients = this.clients.get(change.topic)
          if (clients === undefined) {
            if (this.clients.size >= MAX_TOPICS) return
            this.clients.set(change.topic, (clients = new Map()))
          }
          if (!clients.has(change.clientId) && clients.size >= CLIENTS_PER_TOPIC) return
          clients.set(change.clientId, threshold)
          this.changed()
        },
        (err: unknown) => this.options.log.debug({ err, client: change.clientId }, 'live view: cannot read a client\'s thresholds'),
      )
    }
  }

  view(): LiveView {
    const status = new Map(this.options.nodes().map((node) => [node.address, node.state]))
    const count = this.nodes.size
    const topics = new Set<string>()
    const nodes = [...this.nodes.values()].map((node): LiveNode => {
      const mesh: Record<string, string[]> = {}
      for (const [topic, peers] of this.meshes.get(node.peerId) ?? []) {
        topics.add(topic)
        mesh[topic] = [...peers]
      }
      return {
        address: node.address,
        state: status.get(node.address) ?? 'down',
        peer_id: node.peerId,
        cpu: node.health?.cpu ?? null,
        memory: node.health?.memory ?? null,
        mesh,
      }
    })
    const messages = [...this.messages.values()].reverse().map((message): LiveMessage => {
      const times: LiveMessage['nodes'] = {}
      for (const [peer, t] of message.nodes) times[peer] = { first_shard: t.firstShard ?? null, decoded: t.decoded ?? null }
      const clients = this.clients.get(message.topic) ?? new Map<string, number>()
      return {
        id: message.id,
        topic: message.topic,
        size: message.size ?? null,
        published: message.published ?? null,
        publisher: message.publisher ?? null,
        nodes: times,
        thresholds: [...clients].map(([client, threshold]) => {
          const needed = Math.max(1, Math.ceil(threshold * count))
          return { client, threshold, needed, met_at: message.arrivals[needed - 1] ?? null }
        }),
      }
    })
    return { nodes, topics: [...topics].sort(), messages }
  }

  private followMesh(node: string, type: number, topic: string | undefined, peer: string): void {
    let mesh = this.meshes.get(node)
    if (type === TraceType.GRAFT && topic !== undefined) {
      if (mesh === undefined) {
        if (this.meshes.size >= MAX_TRACED_NODES) return
        this.meshes.set(node, (mesh = new Map()))
      }
      let peers = mesh.get(topic)
      if (peers === undefined) {
        if (mesh.size >= MAX_TOPICS) return
        mesh.set(topic, (peers = new Set()))
      }
      if (!peers.has(peer)) this.changed(peers.add(peer))
    } else if (type === TraceType.PRUNE && topic !== undefined) {
      if (mesh?.get(topic)?.delete(peer)) this.changed()
    } else if (type === TraceType.REMOVE_PEER) {
      for (const peers of mesh?.values() ?? []) if (peers.delete(peer)) this.changed()
    }
  }

  private changed(_?: unknown): void {
    this.version++
  }

  private messageOf(id: string, topic: string | undefined): MessageLive {
    let message = this.messages.get(id)
    if (message === undefined) {
      if (this.messages.size >= TIMELINE_MESSAGES) this.messages.delete(this.messages.keys().next().value as string)
      message = { id, topic: topic ?? '', nodes: new Map(), arrivals: [] }
      this.messages.set(id, message)
    } else if (message.topic === '' && topic !== undefined) {
      message.topic = topic
    }
    return message
  }

  private pollHealth(): void {
    for (const [address, client] of this.health) {
      client.Health({}, (err, health?: HealthResponse) => {
        const node = this.nodes.get(address)
        if (node === undefined) return
        if (err || health === undefined) {
          if (node.health !== undefined) this.changed((node.health = undefined))
          return
        }
        const peerId = health.p2pAddress.slice(health.p2pAddress.lastIndexOf('/p2p/') + 5)
        if (health.p2pAddress.includes('/p2p/') && peerId !== node.peerId) this.changed((node.peerId = peerId))
        const next = { cpu: health.cpuUsed, memory: health.memoryUsed, status: health.status }
        if (node.health?.cpu !== next.cpu || node.health?.memory !== next.memory) this.changed((node.health = next))
      })
    }
  }
}
