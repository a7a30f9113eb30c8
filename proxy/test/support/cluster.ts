import { WebSocket } from 'ws'
import { parseProxyConfig, type ProxyConfig } from '../../../common/config/index.js'
import { silentLogger } from '../../../common/logger.js'
import { meshReady, startTestNode, stopAll, waitFor } from '../../../node/test/support/network.js'
import type { RunningNode } from '../../../node/node.js'
import { startProxy, type RunningProxy } from '../../proxy.js'
import { freePort, waitFor as waitForValue } from './redis-server.js'
import { LOCAL_REDIS, removePrefix, testPrefix } from './store.js'

export { waitFor }

/** Polls an async condition (every 25 ms) until it holds; fails with `what` after `timeoutMs`. */
export function waitForAsync(what: string, condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<true> {
  return waitForValue(what, async () => ((await condition()) ? true : undefined), timeoutMs)
}

export { LOCAL_REDIS, testPrefix }

const VERSION = { version: 'test', commit_hash: 'test' }

/** `p2pNodes`: P2P_NODES, e.g. `127.0.0.1:33221,127.0.0.1:33222`. */
export function proxyConfig(p2pNodes: string, prefix: string, env: Record<string, string> = {}): ProxyConfig {
  return parseProxyConfig({
    P2P_NODES: p2pNodes,
    LISTEN_HOST: '127.0.0.1',
    PROXY_PORT: '0',
    PROXY_GRPC_PORT: '0',
    REDIS_URL: LOCAL_REDIS,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    ...env,
  })
}

export function startTestProxy(config: ProxyConfig): Promise<RunningProxy> {
  return startProxy(config, silentLogger, VERSION)
}

/** Gossipsub nodes on fixed sidecar ports (so one can be stopped and come back where the proxies expect it) and proxies on one Redis prefix. */
export interface TestCluster {
  nodes: RunningNode[]
  proxies: RunningProxy[]
  prefix: string
  /** P2P_NODES of this cluster. */
  p2pNodes: string
  /** Stops node `i` (its sidecar port stays reserved for `restartNode`). */
  stopNode(i: number): Promise<void>
  restartNode(i: number): Promise<void>
  stop(): Promise<void>
}

export async function startCluster(name: string, replicas: number, nodeCount = 4, env: Record<string, string> = {}): Promise<TestCluster> {
  const prefix = testPrefix(name)
  const ports = await Promise.all(Array.from({ length: nodeCount }, () => freePort()))
  const start = (i: number, bootstrap?: string) =>
    startTestNode('gossipsub', { SIDECAR_PORT: String(ports[i]), ...(bootstrap ? { BOOTSTRAP_PEERS: bootstrap } : {}) })
  const first = await start(0)
  const bootstrap = first.multiaddrs()[0]!
  const nodes = [first, ...(await Promise.all(ports.slice(1).map((_, i) => start(i + 1, bootstrap))))]
  await waitFor('full peer set', () => nodes.every((n) => n.view.peers().length >= nodeCount - 1), 15_000)
  const p2pNodes = ports.map((port) => `127.0.0.1:${port}`).join(',')
  const proxies: RunningProxy[] = []
  for (let i = 0; i < replicas; i++) proxies.push(await startTestProxy(proxyConfig(p2pNodes, prefix, env)))
  const stopped = new Set<number>()
  return {
    nodes,
    proxies,
    prefix,
    p2pNodes,
    async stopNode(i) {
      stopped.add(i)
      await nodes[i]!.stop()
    },
    async restartNode(i) {
      nodes[i] = await start(i, i === 0 ? nodes[1]!.multiaddrs()[0]! : nodes[0]!.multiaddrs()[0]!)
      stopped.delete(i)
      await waitFor('node back in the network', () => nodes[i]!.view.peers().length >= nodeCount - 1, 15_000)
    },
    async stop() {
      await Promise.all(proxies.map((p) => p.stop()))
      await stopAll(nodes.filter((_, i) => !stopped.has(i)))
      await removePrefix(LOCAL_REDIS, prefix)
    },
  }
}

/** Every node has a mesh for `topic` (after a client subscribed through a proxy). */
export function topicMeshReady(nodes: RunningNode[], topic: string): Promise<void> {
  return waitFor(`mesh of ${topic}`, meshReady(nodes, topic, Math.min(2, nodes.length - 1)), 15_000)
}

export async function postJson(port: number, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

export async function getJson(port: number, path: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

export interface WsFrame {
  source_node_id: string
  topic: string
  message_id: string
  message: string
  cursor: string
  nodes: number
  type?: string
}

/** A WebSocket client that keeps every frame it gets. */
export class TestWs {
  readonly frames: WsFrame[] = []
  readonly ws: WebSocket
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>

  constructor(port: number, query: string, path = '/api/v1/ws') {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}${path}?${query}`)
    this.ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as WsFrame))
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })))
  }

  texts(): string[] {
    return this.frames.filter((f) => f.type === undefined).map((f) => Buffer.from(f.message, 'base64').toString())
  }

  async close(): Promise<void> {
    this.ws.close()
    await this.closed
  }
}
