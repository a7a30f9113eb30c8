/**
 * The Docker Compose files, from one description: Redis, 4 nodes and 2
 * proxies on `optimum-network` (172.28.0.0/16) with the published static
 * addresses and host ports, plus Prometheus and Grafana in the `metrics`
 * profile. Three variants are written (`npm run compose`), and a test keeps
 * the committed files equal to what this renders:
 *
 * - docker-compose.yml: the mode is `NODE_MODE` from .env (optimum by
 *   default). Both protocols listen on container port 7070, so node 1's
 *   bootstrap address is the same in either mode; host ports 7071-7074 and
 *   6061-6064 both reach it.
 * - docker-compose-optimum.yml / docker-compose-gossipsub.yml: one mode each,
 *   with the published container ports (7070 optimum, 6060 gossipsub).
 */
import { Document, isScalar, visit } from 'yaml'
import type { NodeMode } from '../../common/config/index.js'

export type Variant = 'any' | NodeMode

export const COMPOSE_FILES: Record<Variant, string> = {
  any: 'docker-compose.yml',
  optimum: 'docker-compose-optimum.yml',
  gossipsub: 'docker-compose-gossipsub.yml',
}

export const NETWORK = { name: 'optimum-network', subnet: '172.28.0.0/16' }
export const ADDRESSES = {
  proxy: ['172.28.0.10', '172.28.0.11'],
  node: ['172.28.0.12', '172.28.0.13', '172.28.0.14', '172.28.0.15'],
  redis: '172.28.0.5',
  prometheus: '172.28.0.20',
  grafana: '172.28.0.21',
}
/** Inside every container, as published. */
export const CONTAINER_PORTS = { sidecar: 33212, api: 9090, optimum: 7070, gossipsub: 6060, proxyHttp: 8080, proxyGrpc: 50051 }
export const NODE_COUNT = ADDRESSES.node.length
export const PROXY_COUNT = ADDRESSES.proxy.length

const DOCKERFILE = 'infra/Dockerfile'
const METRICS_DIR = './infra/metrics'

function p2pPorts(variant: Variant): { optimum: number; gossipsub: number; bootstrap: number } {
  if (variant === 'any') return { optimum: CONTAINER_PORTS.optimum, gossipsub: CONTAINER_PORTS.optimum, bootstrap: CONTAINER_PORTS.optimum }
  return { optimum: CONTAINER_PORTS.optimum, gossipsub: CONTAINER_PORTS.gossipsub, bootstrap: CONTAINER_PORTS[variant] }
}

const build = (target: 'node' | 'proxy') => ({ context: '.', dockerfile: DOCKERFILE, target, args: { COMMIT_HASH: '${COMMIT_HASH:-}' } })
const healthcheck = (variable: string, port: number) => ({
  test: ['CMD', 'node', 'infra/docker/healthcheck.mjs', variable, String(port)],
  interval: '5s',
  timeout: '3s',
  retries: 5,
  start_period: '30s',
})
const network = (address: string) => ({ [NETWORK.name]: { ipv4_address: address } })

function node(variant: Variant, index: number) {
  const ports = p2pPorts(variant)
  const mode = variant === 'any' ? '${NODE_MODE:-optimum}' : variant
  const environment = [
    'LOG_LEVEL=${LOG_LEVEL:-info}',
    'CLUSTER_ID=${CLUSTER_ID:-docker-dev-cluster}',
    `NODE_MODE=${mode}`,
    'LISTEN_HOST=0.0.0.0',
    `SIDECAR_PORT=${CONTAINER_PORTS.sidecar}`,
    `API_PORT=${CONTAINER_PORTS.api}`,
    'IDENTITY_DIR=/identity',
    ...(index === 1 ? [] : [`BOOTSTRAP_PEERS=/ip4/${ADDRESSES.node[0]}/tcp/${ports.bootstrap}/p2p/\${BOOTSTRAP_PEER_ID}`]),
    `OPTIMUM_PORT=${ports.optimum}`,
    'OPTIMUM_MAX_MSG_SIZE=1048576',
    'OPTIMUM_MESH_TARGET=6',
    'OPTIMUM_MESH_MIN=3',
    'OPTIMUM_MESH_MAX=12',
    'OPTIMUM_SHARD_FACTOR=4',
    'OPTIMUM_SHARD_MULT=1.5',
    'OPTIMUM_THRESHOLD=0.75',
    `GOSSIPSUB_PORT=${ports.gossipsub}`,
    'GOSSIPSUB_MAX_MSG_SIZE=1048576',
    'GOSSIPSUB_MESH_TARGET=6',
    'GOSSIPSUB_MESH_MIN=3',
    'GOSSIPSUB_MESH_MAX=12',
  ]
  return {
    build: build('node'),
    image: 'optimum-p2p/node:local',
    environment,
    // Node 1 keeps the identity that .env's BOOTSTRAP_PEER_ID names (npm run keygen writes ./identity/p2p.key).
    ...(index === 1 ? { volumes: ['./identity:/identity'] } : {}),
    ports: [
      `${33220 + index}:${CONTAINER_PORTS.sidecar}`,
      `${7070 + index}:${ports.optimum}`,
      `${6060 + index}:${ports.gossipsub}`,
      `${9090 + index}:${CONTAINER_PORTS.api}`,
    ],
    healthcheck: healthcheck('API_PORT', CONTAINER_PORTS.api),
    ...(index === 1 ? {} : { depends_on: { 'p2pnode-1': { condition: 'service_healthy' } } }),
    networks: network(ADDRESSES.node[index - 1]!),
  }
}

function proxy(index: number) {
  const nodes = Array.from({ length: NODE_COUNT }, (_, i) => `p2pnode-${i + 1}:${CONTAINER_PORTS.sidecar}`)
  return {
    build: build('proxy'),
    image: 'optimum-p2p/proxy:local',
    environment: [
      'LOG_LEVEL=${LOG_LEVEL:-info}',
      'CLUSTER_ID=${CLUSTER_ID:-docker-dev-cluster}',
      'LISTEN_HOST=0.0.0.0',
      `PROXY_PORT=:${CONTAINER_PORTS.proxyHttp}`,
      `PROXY_GRPC_PORT=:${CONTAINER_PORTS.proxyGrpc}`,
      `P2P_NODES=${nodes.join(',')}`,
      'REDIS_URL=redis://redis:6379',
      'REDIS_PREFIX=optimum:',
      // the live view and the tracer need the nodes' traces; a production proxy may turn them off
      'PROXY_TRACES=${PROXY_TRACES:-true}',
      'ENABLE_AUTH=${ENABLE_AUTH:-false}',
      'AUTH0_DOMAIN=${AUTH0_DOMAIN:-}',
      'AUTH0_AUDIENCE=${AUTH0_AUDIENCE:-}',
    ],
    ports: [`${8080 + index}:${CONTAINER_PORTS.proxyHttp}`, `${50050 + index}:${CONTAINER_PORTS.proxyGrpc}`],
    healthcheck: healthcheck('PROXY_PORT', CONTAINER_PORTS.proxyHttp),
    depends_on: {
      redis: { condition: 'service_healthy' },
      ...Object.fromEntries(nodes.map((_, i) => [`p2pnode-${i + 1}`, { condition: 'service_healthy' }])),
    },
    networks: network(ADDRESSES.proxy[index - 1]!),
  }
}

function metrics() {
  return {
    prometheus: {
      image: 'prom/prometheus:v2.55.1',
      profiles: ['metrics'],
      command: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus', '--storage.tsdb.retention.time=1d'],
      volumes: [`${METRICS_DIR}/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro`, 'prometheus-data:/prometheus'],
      ports: ['9090:9090'],
      healthcheck: { test: ['CMD', 'wget', '-q', '-O', '-', 'http://127.0.0.1:9090/-/healthy'], interval: '10s', timeout: '3s', retries: 5 },
      networks: network(ADDRESSES.prometheus),
    },
    grafana: {
      image: 'grafana/grafana:11.3.1',
      profiles: ['metrics'],
      environment: ['GF_SECURITY_ADMIN_USER=admin', 'GF_SECURITY_ADMIN_PASSWORD=admin', 'GF_USERS_ALLOW_SIGN_UP=false'],
      volumes: [
        `${METRICS_DIR}/grafana/provisioning:/etc/grafana/provisioning:ro`,
        `${METRICS_DIR}/grafana/dashboards:/var/lib/grafana/dashboards:ro`,
        'grafana-data:/var/lib/grafana',
      ],
      ports: ['3000:3000'],
      depends_on: { prometheus: { condition: 'service_healthy' } },
      networks: network(ADDRESSES.grafana),
    },
  }
}

/** The compose model of one variant, as plain data. */
export function composeModel(variant: Variant): Record<string, unknown> {
  const services: Record<string, unknown> = {
    redis: {
      image: 'redis:7-alpine',
      command: ['redis-server', '--save', '60 1'],
      volumes: ['redis-data:/data'],
      healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '5s', timeout: '3s', retries: 5 },
      networks: network(ADDRESSES.redis),
    },
  }
  for (let i = 1; i <= NODE_COUNT; i++) services[`p2pnode-${i}`] = node(variant, i)
  for (let i = 1; i <= PROXY_COUNT; i++) services[`proxy-${i}`] = proxy(i)
  Object.assign(services, metrics())
  return {
    name: 'optimum-p2p',
    services,
    volumes: { 'redis-data': {}, 'prometheus-data': {}, 'grafana-data': {} },
    networks: { [NETWORK.name]: { driver: 'bridge', ipam: { config: [{ subnet: NETWORK.subnet }] } } },
  }
}

const HEADER: Record<Variant, string> = {
  any: 'The local network in containers: Redis, 4 P2P nodes, 2 proxies; `--profile metrics` adds Prometheus\n' +
    '(http://localhost:9090) and Grafana (http://localhost:3000, admin/admin).\n' +
    'Mode: NODE_MODE in .env (optimum or gossipsub); both protocols listen on container port 7070 here.\n' +
    'First: npm run keygen, then put the printed BOOTSTRAP_PEER_ID in .env. Then: docker compose up --build',
  optimum: 'The published optimum layout: NODE_MODE=optimum on container port 7070.\n' +
    'docker compose -f docker-compose-optimum.yml up --build (BOOTSTRAP_PEER_ID in .env, see docker-compose.yml)',
  gossipsub: 'The published gossipsub layout: NODE_MODE=gossipsub on container port 6060.\n' +
    'docker compose -f docker-compose-gossipsub.yml up --build (BOOTSTRAP_PEER_ID in .env, see docker-compose.yml)',
}

/** The file's text. */
export function renderCompose(variant: Variant): string {
  const doc = new Document(composeModel(variant))
  doc.commentBefore = ` Generated by \`npm run compose\` from infra/compose/topology.ts: edit that, not this file.\n${HEADER[variant]
    .split('\n')
    .map((line) => ` ${line}`)
    .join('\n')}`
  // Quoted, so no YAML 1.1 reader takes 6061:7070 for a number in base 60.
  visit(doc, {
    Scalar(_, node) {
      if (isScalar(node) && typeof node.value === 'string' && node.value.includes(':')) node.type = 'QUOTE_DOUBLE'
    },
  })
  return doc.toString({ lineWidth: 0 })
}
