/**
 * What the local stack runs, as data: every service with its ports and the
 * environment it is started with. Pure, so the port layout and the wiring
 * (bootstrap address, P2P_NODES) are unit-tested without starting anything.
 */
import type { Env, NodeMode } from '../../common/config/index.js'

/** Host ports of the published compose file: service i (1-based) listens on base + i. */
export const PUBLISHED_BASE = {
  nodeApi: 9090,
  sidecar: 33220,
  optimum: 7070,
  gossipsub: 6060,
  proxyHttp: 8080,
  proxyGrpc: 50050,
} as const

/** The private redis-server's port (6379 + 1, so a system Redis on 6379 is left alone). */
export const PRIVATE_REDIS_PORT = 6380

export const LIMITS = { nodes: { min: 1, max: 64 }, proxies: { min: 0, max: 16 } } as const

export interface StackOptions {
  nodes: number
  proxies: number
  mode: NodeMode
  /** Added to every published port, to run a second stack (or a test) beside the first. */
  portOffset: number
  /** Address every service binds and is reached at. */
  host: string
}

export interface PortUse {
  port: number
  /** For the "already in use" line: `node-1 API`. */
  what: string
}

export interface NodePlan {
  kind: 'node'
  name: string
  index: number
  ports: { api: number; sidecar: number; p2p: number }
  identityDir: string
}

export interface ProxyPlan {
  kind: 'proxy'
  name: string
  index: number
  ports: { http: number; grpc: number }
}

export interface StackPlan {
  options: StackOptions
  nodes: NodePlan[]
  proxies: ProxyPlan[]
}

export interface StackDirs {
  /** The bootstrap node's identity directory (IDENTITY_DIR when set, else `identity`). */
  bootstrapIdentity: string
  /** Where the other nodes' identities and the private Redis data live. */
  state: string
}

export function planStack(options: StackOptions, dirs: StackDirs): StackPlan {
  const at = (base: number, index: number) => base + index + options.portOffset
  const nodes = Array.from({ length: options.nodes }, (_, i): NodePlan => {
    const index = i + 1
    return {
      kind: 'node',
      name: `node-${index}`,
      index,
      ports: {
        api: at(PUBLISHED_BASE.nodeApi, index),
        sidecar: at(PUBLISHED_BASE.sidecar, index),
        p2p: at(options.mode === 'optimum' ? PUBLISHED_BASE.optimum : PUBLISHED_BASE.gossipsub, index),
      },
      identityDir: index === 1 ? dirs.bootstrapIdentity : `${dirs.state}/identity/node-${index}`,
    }
  })
  const proxies = Array.from({ length: options.proxies }, (_, i): ProxyPlan => {
    const index = i + 1
    return {
      kind: 'proxy',
      name: `proxy-${index}`,
      index,
      ports: { http: at(PUBLISHED_BASE.proxyHttp, index), grpc: at(PUBLISHED_BASE.proxyGrpc, index) },
    }
  })
  return { options, nodes, proxies }
}

/** Every port the stack will listen on (the private Redis's is added by the caller when it runs one). */
export function portsInUse(plan: StackPlan): PortUse[] {
  return [
    ...plan.nodes.flatMap((n) => [
      { port: n.ports.api, what: `${n.name} API` },
      { port: n.ports.sidecar, what: `${n.name} sidecar` },
      { port: n.ports.p2p, what: `${n.name} ${plan.options.mode} p2p` },
    ]),
    ...plan.proxies.flatMap((p) => [
      { port: p.ports.http, what: `${p.name} HTTP` },
      { port: p.ports.grpc, what: `${p.name} gRPC` },
    ]),
  ]
}

/** The port layout's own collisions and out-of-range ports (a large offset or count), as one sentence, or undefined. */
export function layoutProblem(uses: readonly PortUse[]): string | undefined {
  const seen = new Map<number, string>()
  for (const use of uses) {
    if (use.port < 1 || use.port > 65535) return `${use.what} would get port ${use.port}, outside 1-65535: use a smaller --port-offset`
    const other = seen.get(use.port)
    if (other !== undefined) return `${use.what} and ${other} would share port ${use.port}: use fewer nodes or proxies`
    seen.set(use.port, use.what)
  }
  return undefined
}

/** `/ip4/127.0.0.1/tcp/7071/p2p/12D3KooW…`: how nodes 2..N reach node 1. */
export function bootstrapAddress(host: string, node: NodePlan, peerId: string): string {
  const family = host.includes(':') ? 'ip6' : /^[\d.]+$/.test(host) ? 'ip4' : 'dns'
  return `/${family}/${host}/tcp/${node.ports.p2p}/p2p/${peerId}`
}

/**
 * A node's environment: the launcher's (process over .env) with the
 * per-node settings on top, so nothing shared in .env (ports, IDENTITY_DIR)
 * can make two nodes collide.
 */
export function nodeEnv(base: Env, plan: StackPlan, node: NodePlan, bootstrap: string): Env {
  const { host, mode } = plan.options
  return {
    ...base,
    NODE_MODE: mode,
    LISTEN_HOST: host,
    API_PORT: String(node.ports.api),
    SIDECAR_PORT: String(node.ports.sidecar),
    // Only the active mode's port is opened; the other is set so a stray .env value cannot clash.
    OPTIMUM_PORT: String(mode === 'optimum' ? node.ports.p2p : 0),
    GOSSIPSUB_PORT: String(mode === 'gossipsub' ? node.ports.p2p : 0),
    IDENTITY_DIR: node.identityDir,
    BOOTSTRAP_PEERS: node.index === 1 ? '' : bootstrap,
  }
}

export function proxyEnv(base: Env, plan: StackPlan, proxy: ProxyPlan, redisUrl: string): Env {
  const { host } = plan.options
  return {
    ...base,
    LISTEN_HOST: host,
    PROXY_PORT: String(proxy.ports.http),
    PROXY_GRPC_PORT: String(proxy.ports.grpc),
    P2P_NODES: plan.nodes.map((n) => `${host.includes(':') ? `[${host}]` : host}:${n.ports.sidecar}`).join(','),
    REDIS_URL: redisUrl,
    // A local stack is for looking at the network: the live view and the tracer need the nodes' traces.
    PROXY_TRACES: base.PROXY_TRACES || 'true',
  }
}
