/**
 * Docker does not run here, so the compose files, the Dockerfile and the
 * metrics provisioning are checked as data: what each container would be
 * started with must pass the same config parser the programs use.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ENV_VARS, parseNodeConfig, parseProxyConfig, type Env } from '../../common/config/index.js'
import { NodeMetrics } from '../../node/metrics.js'
import { OptimumMetrics } from '../../node/optimum/metrics.js'
import { ProxyMetrics } from '../../proxy/metrics.js'
import { ADDRESSES, COMPOSE_FILES, CONTAINER_PORTS, NETWORK, renderCompose, type Variant } from '../compose/topology.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8')
const KNOWN = new Set(ENV_VARS.map((v) => v.name))
const VARIANTS = Object.keys(COMPOSE_FILES) as Variant[]

interface Service {
  build?: { context: string; dockerfile: string; target: string }
  image?: string
  environment?: string[] | Record<string, string>
  ports?: string[]
  volumes?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  networks?: Record<string, { ipv4_address: string }>
  profiles?: string[]
}
interface ComposeFile {
  services: Record<string, Service>
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>
}

const compose = (variant: Variant) => parse(read(COMPOSE_FILES[variant])) as ComposeFile

/** Compose interpolation of ${VAR}, ${VAR:-default} and ${VAR-default} from `vars` (what .env would hold). */
function interpolate(text: string, vars: Env): string {
  return text.replace(/\$\{(\w+)(?:(:?)-([^}]*))?\}/g, (_, name: string, colon: string, fallback: string | undefined) => {
    const value = vars[name]
    if (fallback === undefined) return value ?? ''
    return value === undefined || (colon === ':' && value === '') ? fallback : value
  })
}

function environment(service: Service): [string, string][] {
  const env = service.environment ?? []
  if (!Array.isArray(env)) return Object.entries(env).map(([k, v]) => [k, String(v)])
  return env.map((entry) => {
    const eq = entry.indexOf('=')
    return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)]
  })
}

/** .env.example's values, which users copy to .env. */
function dotEnvExample(): Env {
  const vars: Env = {}
  for (const line of read('.env.example').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
    if (m) vars[m[1]!] = m[2]!
  }
  return vars
}

const ours = (file: ComposeFile) => Object.entries(file.services).filter(([, s]) => s.build?.dockerfile === 'infra/Dockerfile')

let peerId: string
beforeAll(async () => {
  peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
})

describe('compose files', () => {
  it.each(VARIANTS)('%s is what infra/compose/topology.ts renders (npm run compose)', (variant) => {
    expect(read(COMPOSE_FILES[variant])).toBe(renderCompose(variant))
  })

  it.each(VARIANTS)('%s: every variable of our services is in the config schema and parses', (variant) => {
    const modes = variant === 'any' ? ['optimum', 'gossipsub'] : [variant]
    for (const mode of modes) {
      const vars = { ...dotEnvExample(), BOOTSTRAP_PEER_ID: peerId, NODE_MODE: mode }
      for (const [name, service] of ours(compose(variant))) {
        const env: Env = {}
        for (const [key, value] of environment(service)) {
          expect(KNOWN, `${name}: ${key} is not a known variable`).toContain(key)
          env[key] = interpolate(value, vars)
        }
        const parseConfig = service.build!.target === 'node' ? parseNodeConfig : parseProxyConfig
        expect(() => parseConfig(env), `${name} in ${COMPOSE_FILES[variant]} (NODE_MODE=${mode})`).not.toThrow()
        if (service.build!.target === 'node') expect(parseNodeConfig(env).mode).toBe(mode)
      }
    }
  })

  it.each(VARIANTS)('%s: host ports are the published ones and never collide', (variant) => {
    const file = compose(variant)
    const hostPorts = Object.values(file.services).flatMap((s) => (s.ports ?? []).map((p) => Number(p.split(':')[0])))
    expect(new Set(hostPorts).size).toBe(hostPorts.length)
    const portsOf = (name: string) => file.services[name]!.ports!.map((p) => Number(p.split(':')[0]))
    for (let i = 1; i <= 4; i++) expect(portsOf(`p2pnode-${i}`).sort()).toEqual([6060 + i, 7070 + i, 9090 + i, 33220 + i].sort())
    for (let i = 1; i <= 2; i++) expect(portsOf(`proxy-${i}`)).toEqual([8080 + i, 50050 + i])
  })

  it.each(VARIANTS)("%s: nodes 2-4 bootstrap from node 1's address and active p2p port", (variant) => {
    const modes = variant === 'any' ? ['optimum', 'gossipsub'] : [variant]
    const file = compose(variant)
    const node1 = file.services['p2pnode-1']!
    expect(node1.networks![NETWORK.name]!.ipv4_address).toBe('172.28.0.12')
    expect(Object.fromEntries(environment(node1)).BOOTSTRAP_PEERS).toBeUndefined()
    for (const mode of modes) {
      const vars = { BOOTSTRAP_PEER_ID: peerId, NODE_MODE: mode }
      const env1 = Object.fromEntries(environment(node1).map(([k, v]) => [k, interpolate(v, vars)]))
      const port = mode === 'optimum' ? env1.OPTIMUM_PORT : env1.GOSSIPSUB_PORT
      // The active port is published on the host under both mode's host ports or the mode's own.
      expect(node1.ports!.some((p) => p.endsWith(`:${port}`))).toBe(true)
      for (const i of [2, 3, 4]) {
        const service = file.services[`p2pnode-${i}`]!
        const bootstrap = interpolate(Object.fromEntries(environment(service)).BOOTSTRAP_PEERS!, vars)
        expect(bootstrap).toBe(`/ip4/172.28.0.12/tcp/${port}/p2p/${peerId}`)
        expect(service.depends_on).toEqual({ 'p2pnode-1': { condition: 'service_healthy' } })
      }
    }
  })

  it.each(VARIANTS)('%s: the published static addresses on optimum-network, health checks and start order', (variant) => {
    const file = compose(variant)
    expect(file.networks[NETWORK.name]!.ipam.config[0]!.subnet).toBe('172.28.0.0/16')
    const address = (name: string) => file.services[name]!.networks![NETWORK.name]!.ipv4_address
    expect([1, 2].map((i) => address(`proxy-${i}`))).toEqual(['172.28.0.10', '172.28.0.11'])
    expect([1, 2, 3, 4].map((i) => address(`p2pnode-${i}`))).toEqual(['172.28.0.12', '172.28.0.13', '172.28.0.14', '172.28.0.15'])
    const all = Object.keys(file.services).map(address)
    expect(new Set(all).size).toBe(all.length)
    for (const ip of all) expect(ip).toMatch(/^172\.28\.\d+\.\d+$/)
    for (const [name, service] of Object.entries(file.services)) {
      if (name !== 'grafana') expect(service.healthcheck, name).toBeDefined()
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(file.services[dependency], `${name} → ${dependency}`).toBeDefined()
    }
    expect(Object.keys(file.services['proxy-1']!.depends_on!).sort()).toEqual(['p2pnode-1', 'p2pnode-2', 'p2pnode-3', 'p2pnode-4', 'redis'])
    const proxyEnv = Object.fromEntries(environment(file.services['proxy-1']!))
    expect(proxyEnv.P2P_NODES).toBe('p2pnode-1:33212,p2pnode-2:33212,p2pnode-3:33212,p2pnode-4:33212')
    expect(proxyEnv.REDIS_URL).toBe('redis://redis:6379')
    expect(file.services.prometheus!.profiles).toEqual(['metrics'])
    expect(file.services.grafana!.profiles).toEqual(['metrics'])
    expect(ADDRESSES.node[0]).toBe('172.28.0.12')
  })

  it.each(VARIANTS)('%s: build contexts, Dockerfile targets and mounted files exist', (variant) => {
    const dockerfile = read('infra/Dockerfile')
    for (const [name, service] of Object.entries(compose(variant).services)) {
      if (service.build) {
        expect(statSync(path.join(ROOT, service.build.context)).isDirectory()).toBe(true)
        expect(existsSync(path.join(ROOT, service.build.context, service.build.dockerfile))).toBe(true)
        expect(dockerfile, `${name}: target ${service.build.target}`).toMatch(new RegExp(`^FROM \\S+ AS ${service.build.target}$`, 'm'))
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        // ./identity is made by `npm run keygen` before the first `docker compose up`.
        if (source.startsWith('./') && source !== './identity') expect(existsSync(path.join(ROOT, source)), `${name}: ${source}`).toBe(true)
      }
    }
  })
})

describe('infra/Dockerfile', () => {
  const dockerfile = read('infra/Dockerfile')

  it('builds in stages and runs as a non-root user with a health check per target', () => {
    expect(dockerfile).toMatch(/^FROM \S+ AS build$/m)
    expect(dockerfile).toMatch(/^RUN npm ci /m)
    expect(dockerfile).toMatch(/npm run build:wasm/)
    expect(dockerfile).toMatch(/npm prune --omit=dev/)
    expect(dockerfile).toMatch(/^USER node$/m)
    for (const target of ['node', 'proxy']) {
      const stage = dockerfile.split(new RegExp(`^FROM runtime AS ${target}$`, 'm'))[1]!.split(/^FROM /m)[0]!
      expect(stage, target).toMatch(/^HEALTHCHECK .*healthcheck\.mjs/m)
      const cmd = JSON.parse(/^CMD (.*)$/m.exec(stage)![1]!) as string[]
      expect(cmd.slice(0, 3)).toEqual(['node', '--import', 'tsx'])
      expect(existsSync(path.join(ROOT, cmd[3]!)), cmd[3]).toBe(true)
    }
  })

  it('ships the built wasm kernel where the loader looks for it, and copies only paths that exist', () => {
    // common/rlnc/kernel-wasm.ts looks in ../../build/ from common/rlnc/: /app/build beside /app/common.
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/build \.\/build$/m)
    expect(dockerfile).toMatch(/^COPY common \.\/common$/m)
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of m[1]!.split(/\s+/)) expect(existsSync(path.join(ROOT, source)), source).toBe(true)
    }
    for (const script of dockerfile.matchAll(/"(infra\/docker\/[^"]+)"/g)) expect(existsSync(path.join(ROOT, script[1]!))).toBe(true)
  })
})

/**
 * Every metric name the code exports: the registries of the node (with its
 * optimum-mode metrics) and the proxy, as their classes build them, and any
 * other literal `name: 'optimum_…'` in node/ or proxy/ sources.
 */
function exportedMetrics(): Set<string> {
  const node = new NodeMetrics({ peerCount: () => 0, meshSizes: () => new Map(), transfer: () => ({ sent: 0, received: 0 }) })
  new OptimumMetrics(node.registry)
  const proxy = new ProxyMetrics({ nodesUp: () => 0, connections: () => ({ websocket: 0, grpc: 0 }) })
  const names = new Set([...node.registry.getMetricsAsArray(), ...proxy.registry.getMetricsAsArray()].map((m) => m.name))
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) return entry.name === 'test' || entry.name === 'bench' ? [] : walk(full)
      return entry.name.endsWith('.ts') ? [full] : []
    })
  for (const file of ['node', 'proxy'].flatMap((part) => walk(path.join(ROOT, part)))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/name:\s*['"`](optimum_[a-z0-9_]+)['"`]/g)) names.add(m[1]!)
  }
  return names
}

describe('metrics profile', () => {
  const dashboards = path.join(ROOT, 'infra/metrics/grafana/dashboards')

  it('Prometheus scrapes every node API and every proxy HTTP port', () => {
    const config = parse(read('infra/metrics/prometheus/prometheus.yml')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] }
    const targets = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets)).sort()
    const services = compose('any').services
    const expected = [
      ...Object.keys(services).filter((n) => n.startsWith('p2pnode-')).map((n) => `${n}:${CONTAINER_PORTS.api}`),
      ...Object.keys(services).filter((n) => n.startsWith('proxy-')).map((n) => `${n}:${CONTAINER_PORTS.proxyHttp}`),
    ].sort()
    expect(targets).toEqual(expected)
  })

  it('Grafana is provisioned with the Prometheus data source and the dashboard folder', () => {
    const datasources = parse(read('infra/metrics/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] }
    expect(datasources.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' })
    const providers = parse(read('infra/metrics/grafana/provisioning/dashboards/dashboards.yml')) as { providers: { options: { path: string } }[] }
    const grafana = compose('any').services.grafana!
    const mountedAt = grafana.volumes!.find((v) => v.startsWith('./infra/metrics/grafana/dashboards:'))!.split(':')[1]
    expect(providers.providers[0]!.options.path).toBe(mountedAt)
    expect(readdirSync(dashboards).sort()).toEqual(['p2p-nodes.json', 'proxies.json'])
  })

  it("every dashboard query names only metrics the code exports", () => {
    const exported = exportedMetrics()
    expect(exported).toContain('optimum_node_peers')
    expect(exported).toContain('optimum_node_process_cpu_seconds_total')
    expect(exported).toContain('optimum_node_shards_received_total')
    expect(exported).toContain('optimum_proxy_nodes_up')
    for (const file of readdirSync(dashboards)) {
      const dashboard = JSON.parse(readFileSync(path.join(dashboards, file), 'utf8')) as {
        panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[]
      }
      expect(dashboard.panels.length, file).toBeGreaterThan(0)
      for (const panel of dashboard.panels) {
        expect(panel.datasource.uid).toBe('prometheus')
        for (const { expr } of panel.targets) {
          const used = expr.match(/\boptimum_[a-z0-9_]+/g) ?? []
          expect(used.length, `${file}: ${panel.title}`).toBeGreaterThan(0)
          for (const name of used) {
            const base = name.replace(/_(bucket|sum|count)$/, '')
            expect(exported.has(name) || exported.has(base), `${file}: "${panel.title}" uses ${name}, which no code exports`).toBe(true)
          }
        }
      }
    }
  })
})
