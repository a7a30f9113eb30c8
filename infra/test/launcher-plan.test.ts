import { describe, expect, it } from 'vitest'
import { formatLogLine } from '../launcher/log-format.js'
import { launchOptions } from '../launcher/options.js'
import { bootstrapAddress, layoutProblem, nodeEnv, planStack, portsInUse, proxyEnv, type StackOptions } from '../launcher/plan.js'
import { wantedPeers } from '../launcher/readiness.js'

const OPTIONS: StackOptions = { nodes: 4, proxies: 2, mode: 'optimum', portOffset: 0, host: '127.0.0.1' }
const DIRS = { bootstrapIdentity: '/repo/identity', state: '/repo/.stack' }
const PEER = '12D3KooWLYExrpFg6Qctg3mqQYYMRHL9Ps9QakASCRgWGPjSHFWQ'

describe('planStack', () => {
  it('puts 4 nodes and 2 proxies on the published host ports', () => {
    const plan = planStack(OPTIONS, DIRS)
    expect(plan.nodes.map((n) => n.ports)).toEqual([
      { api: 9091, sidecar: 33221, p2p: 7071 },
      { api: 9092, sidecar: 33222, p2p: 7072 },
      { api: 9093, sidecar: 33223, p2p: 7073 },
      { api: 9094, sidecar: 33224, p2p: 7074 },
    ])
    expect(plan.proxies.map((p) => p.ports)).toEqual([{ http: 8081, grpc: 50051 }, { http: 8082, grpc: 50052 }])
    expect(planStack({ ...OPTIONS, mode: 'gossipsub' }, DIRS).nodes.map((n) => n.ports.p2p)).toEqual([6061, 6062, 6063, 6064])
  })

  it('shifts every port by the offset and keeps node 1 on the bootstrap identity', () => {
    const plan = planStack({ ...OPTIONS, portOffset: 100 }, DIRS)
    expect(plan.nodes[0]).toMatchObject({ ports: { api: 9191, sidecar: 33321, p2p: 7171 }, identityDir: '/repo/identity' })
    expect(plan.nodes[3]!.identityDir).toBe('/repo/.stack/identity/node-4')
    expect(plan.proxies[1]!.ports).toEqual({ http: 8182, grpc: 50152 })
  })

  it('names every port with its service, and refuses layouts outside the port range', () => {
    const uses = portsInUse(planStack(OPTIONS, DIRS))
    expect(uses).toHaveLength(4 * 3 + 2 * 2)
    expect(uses[0]).toEqual({ port: 9091, what: 'node-1 API' })
    expect(layoutProblem(uses)).toBeUndefined()
    expect(layoutProblem(portsInUse(planStack({ ...OPTIONS, portOffset: 20_000 }, DIRS)))).toBe('proxy-1 gRPC would get port 70051, outside 1-65535: use a smaller --port-offset')
    expect(layoutProblem(portsInUse(planStack({ ...OPTIONS, portOffset: 40_000 }, DIRS)))).toMatch(/outside 1-65535: use a smaller --port-offset/)
    expect(layoutProblem([{ port: 1, what: 'a' }, { port: 1, what: 'b' }])).toBe('b and a would share port 1: use fewer nodes or proxies')
  })

  it('gives each node its own ports, identity and bootstrap peer over anything shared in .env', () => {
    const plan = planStack(OPTIONS, DIRS)
    const base = { API_PORT: '9090', IDENTITY_DIR: 'shared', BOOTSTRAP_PEERS: 'x', LOG_LEVEL: 'debug' }
    const bootstrap = bootstrapAddress('127.0.0.1', plan.nodes[0]!, PEER)
    expect(bootstrap).toBe(`/ip4/127.0.0.1/tcp/7071/p2p/${PEER}`)
    expect(nodeEnv(base, plan, plan.nodes[0]!, bootstrap)).toMatchObject({
      NODE_MODE: 'optimum', LISTEN_HOST: '127.0.0.1', API_PORT: '9091', SIDECAR_PORT: '33221', OPTIMUM_PORT: '7071',
      GOSSIPSUB_PORT: '0', IDENTITY_DIR: '/repo/identity', BOOTSTRAP_PEERS: '', LOG_LEVEL: 'debug',
    })
    expect(nodeEnv(base, plan, plan.nodes[2]!, bootstrap)).toMatchObject({ BOOTSTRAP_PEERS: bootstrap, API_PORT: '9093' })
    expect(proxyEnv(base, plan, plan.proxies[1]!, 'redis://127.0.0.1:6380')).toMatchObject({
      PROXY_PORT: '8082',
      PROXY_GRPC_PORT: '50052',
      P2P_NODES: '127.0.0.1:33221,127.0.0.1:33222,127.0.0.1:33223,127.0.0.1:33224',
      REDIS_URL: 'redis://127.0.0.1:6380',
    })
  })

  it('waits for every other node, up to the mesh minimum', () => {
    expect(wantedPeers(1, 3)).toBe(0)
    expect(wantedPeers(4, 3)).toBe(3)
    expect(wantedPeers(8, 3)).toBe(3)
  })
})

describe('launchOptions', () => {
  const flags = { nodes: 4, proxies: 2, mode: '', 'port-offset': 0 }
  it('takes the mode from the flag, else NODE_MODE, else the default', () => {
    expect(launchOptions({ ...flags, mode: 'gossipsub' }, { NODE_MODE: 'optimum' })).toMatchObject({ mode: 'gossipsub' })
    expect(launchOptions(flags, { NODE_MODE: 'gossipsub' })).toMatchObject({ mode: 'gossipsub', host: '127.0.0.1' })
    expect(launchOptions(flags, {})).toMatchObject({ mode: 'optimum' })
  })
  it('names the bad flag or variable', () => {
    expect(launchOptions({ ...flags, nodes: 0 }, {})).toBe('-nodes 0: expected 1 to 64')
    expect(launchOptions({ ...flags, proxies: 17 }, {})).toBe('-proxies 17: expected 0 to 16')
    expect(launchOptions(flags, { NODE_MODE: 'flood' })).toBe('NODE_MODE "flood": expected one of optimum, gossipsub')
  })
})

describe('formatLogLine', () => {
  it('turns a pino line into time, level, message and fields', () => {
    const raw = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 3, 4, 5), pid: 1, name: 'p2pnode', peerId: PEER, msg: 'bootstrap peer unreachable', part: 'bootstrap', err: { message: 'connect ECONNREFUSED' }, n: 2 })
    expect(formatLogLine(raw)).toEqual({
      text: '12:03:04.005 warn  bootstrap peer unreachable part=bootstrap err="connect ECONNREFUSED" n=2',
      level: 40,
      msg: 'bootstrap peer unreachable',
    })
  })
  it('passes other lines through', () => {
    expect(formatLogLine('p2pnode: NODE_MODE=optimum is not available')).toEqual({ text: 'p2pnode: NODE_MODE=optimum is not available' })
    expect(formatLogLine('{"not":"pino"}')).toEqual({ text: '{"not":"pino"}' })
  })
})
