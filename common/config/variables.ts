/**
 * Every environment variable, once: its name, default (as written in a .env
 * file), the kind of value it takes (which says what is accepted) and a
 * one-line help. The README table and .env.example are checked against
 * `ENV_VARS`.
 */
import { LOG_LEVELS } from '../logger.js'
import {
  bool,
  decimal,
  host,
  hostPort,
  httpUrl,
  int,
  isHostname,
  list,
  oneOf,
  optional,
  peerAddress,
  port,
  redisUrl,
  text,
  type Kind,
} from './kinds.js'
import type { NodeMode, RedisMode } from './types.js'

/** `shared` variables are read by both the node and the proxy. */
export type EnvGroup = 'shared' | 'node' | 'optimum' | 'gossipsub' | 'proxy'

export interface EnvVarDoc {
  readonly name: string
  readonly group: EnvGroup
  /** As written in .env; '' = unset (optional, or required where `accepted` says so). */
  readonly default: string
  readonly accepted: string
  readonly help: string
}

export interface EnvVar<T> extends EnvVarDoc {
  readonly kind: Kind<T>
}

function envVar<T>(group: EnvGroup, name: string, defaultText: string, kind: Kind<T>, help: string): EnvVar<T> {
  return { name, group, default: defaultText, accepted: kind.accepted, help, kind }
}

const MiB = 1024 * 1024
const MESH_LIMIT = 1000
const DAY = 86_400
const REDIS_MODES: readonly RedisMode[] = ['standalone', 'cluster']
const NODE_MODES: readonly NodeMode[] = ['optimum', 'gossipsub']
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/

export const CLUSTER_ID = envVar('shared', 'CLUSTER_ID', '',
  text('up to 128 characters without control characters', (s) => s.length <= 128 && NO_CONTROL.test(s)),
  'Name of this node or proxy in logs and metrics')
export const LOG_LEVEL = envVar('shared', 'LOG_LEVEL', 'info', oneOf(LOG_LEVELS), 'Log verbosity')
export const LISTEN_HOST = envVar('shared', 'LISTEN_HOST', '0.0.0.0', host(), 'Address every server binds')

export const NODE_MODE = envVar('node', 'NODE_MODE', 'optimum', oneOf(NODE_MODES), 'Protocol the node speaks')
export const SIDECAR_PORT = envVar('node', 'SIDECAR_PORT', '33212', port(), 'gRPC sidecar port that proxies and clients connect to')
export const API_PORT = envVar('node', 'API_PORT', '9090', port(), 'HTTP API port (health, node-state, version)')
export const IDENTITY_DIR = envVar('node', 'IDENTITY_DIR', '',
  optional(text('a directory path (empty = a new identity on every start)', (s) => NO_CONTROL.test(s))),
  'Directory holding p2p.key; created with a new key when missing')
export const BOOTSTRAP_PEERS = envVar('node', 'BOOTSTRAP_PEERS', '',
  list(peerAddress(), { min: 0, key: (a) => a }),
  'Peers dialled at start')
export const SIDECAR_QUEUE_SIZE = envVar('node', 'SIDECAR_QUEUE_SIZE', '10000', int(16, 1_000_000),
  'Messages buffered per sidecar stream before the oldest is dropped')
export const SIDECAR_QUEUE_BYTES = envVar('node', 'SIDECAR_QUEUE_BYTES', String(64 * MiB), int(MiB, 16 * 1024 * MiB, 'bytes, 1 MiB to 16 GiB'),
  'Bytes of delivered messages buffered per sidecar stream before the oldest is dropped')

// ---- Node limits on what clients can make it hold, and what it tells them about itself ----
export const SIDECAR_MAX_STREAMS = envVar('node', 'SIDECAR_MAX_STREAMS', '1024', int(1, 100_000),
  'Open sidecar ListenCommands streams at once, all clients together; more are refused with RESOURCE_EXHAUSTED')
export const SIDECAR_MAX_STREAMS_PER_CONNECTION = envVar('node', 'SIDECAR_MAX_STREAMS_PER_CONNECTION', '64', int(1, 100_000),
  'Open sidecar ListenCommands streams at once on one client connection')
export const SIDECAR_MAX_TOPICS_PER_STREAM = envVar('node', 'SIDECAR_MAX_TOPICS_PER_STREAM', '1024', int(1, 1_000_000),
  'Topics one sidecar stream may subscribe to; past it a subscribe gets an error response')
export const SIDECAR_MAX_UNARY_PUBLISHES = envVar('node', 'SIDECAR_MAX_UNARY_PUBLISHES', '1024', int(1, 1_000_000),
  'Unary sidecar Publish calls in flight at once; more are refused with RESOURCE_EXHAUSTED')
export const METRICS_MAX_TOPICS = envVar('node', 'METRICS_MAX_TOPICS', '256', int(0, 100_000),
  'Topics that get their own Prometheus series (the first ones seen); the others are counted under topic="other"')
export const NODE_COUNTRY = envVar('node', 'NODE_COUNTRY', '',
  optional(text('up to 64 characters without control characters', (s) => s.length <= 64 && NO_CONTROL.test(s))),
  'Country the node reports in the sidecar Health RPC (empty = not reported)')
export const NODE_COUNTRY_ISO = envVar('node', 'NODE_COUNTRY_ISO', '',
  optional(text('a two-letter ISO 3166-1 code such as DE', (s) => /^[A-Za-z]{2}$/.test(s))),
  'ISO 3166-1 alpha-2 code of NODE_COUNTRY')
export const SIDECAR_AUTH = envVar('node', 'SIDECAR_AUTH', 'false', bool(),
  'Require a valid JWT on sidecar publishes and subscribes (Request.jwt_token; Bearer metadata on Publish), verified like the proxy\'s')
const NODE_LIMIT_VARS = [
  SIDECAR_MAX_STREAMS, SIDECAR_MAX_STREAMS_PER_CONNECTION, SIDECAR_MAX_TOPICS_PER_STREAM, SIDECAR_MAX_UNARY_PUBLISHES,
  METRICS_MAX_TOPICS, NODE_COUNTRY, NODE_COUNTRY_ISO,
]

/** The variables both protocols have, under their prefix. */
function protocolVars(group: 'optimum' | 'gossipsub', prefix: string, defaultPort: string, maxMessage: { bytes: number; text: string }) {
  const mesh = (what: string, defaultSize: string, help: string) =>
    envVar(group, `${prefix}_MESH_${what}`, defaultSize, int(1, MESH_LIMIT), help)
  return {
    port: envVar(group, `${prefix}_PORT`, defaultPort, port(), `libp2p TCP port in ${group} mode`),
    maxMessageSize: envVar(group, `${prefix}_MAX_MSG_SIZE`, String(MiB), int(1, maxMessage.bytes, `bytes, up to ${maxMessage.text}`),
      'Largest message accepted for publishing, in bytes'),
    meshMin: mesh('MIN', '3', 'Fewest mesh peers per topic before grafting more'),
    meshTarget: mesh('TARGET', '6', 'Mesh peers per topic aimed for'),
    meshMax: mesh('MAX', '12', 'Most mesh peers per topic before pruning'),
  }
}
export type ProtocolVars = ReturnType<typeof protocolVars>

export const OPTIMUM = {
  ...protocolVars('optimum', 'OPTIMUM', '7070', { bytes: 64 * MiB, text: '64 MiB' }),
  shardFactor: envVar('optimum', 'OPTIMUM_SHARD_FACTOR', '4', int(1, 255), 'Fragments (k) each message is split into'),
  shardMultiplier: envVar('optimum', 'OPTIMUM_SHARD_MULT', '1.5', decimal(1, 16),
    'Coded shards sent = ceil(k × this)'),
  threshold: envVar('optimum', 'OPTIMUM_THRESHOLD', '0.75', decimal(0, 1),
    'Fraction of k a node must hold before it forwards recoded shards'),
}
// gossipsub's length-prefixed framing refuses frames of 4 MiB and more (and the
// signed message adds its envelope), so larger messages would silently reach nobody.
export const GOSSIPSUB = protocolVars('gossipsub', 'GOSSIPSUB', '6060', { bytes: 4 * MiB - 4096, text: "4 MiB less 4 KiB, gossipsub's frame limit" })

export const PROXY_PORT = envVar('proxy', 'PROXY_PORT', '8080', port(), 'HTTP and WebSocket port')
export const PROXY_GRPC_PORT = envVar('proxy', 'PROXY_GRPC_PORT', '50051', port(), 'gRPC ProxyStream port')
export const P2P_NODES = envVar('proxy', 'P2P_NODES', '',
  list(hostPort(), { min: 1, key: (a) => `${a.host.toLowerCase()}:${a.port}` }),
  'Sidecar addresses of the P2P nodes, e.g. p2pnode-1:33212,p2pnode-2:33212 (required)')
export const ENABLE_AUTH = envVar('proxy', 'ENABLE_AUTH', 'false', bool(), 'Require Auth0 JWTs on the client APIs')
// The token provider is read by the proxy (ENABLE_AUTH) and the node (SIDECAR_AUTH).
export const AUTH0_DOMAIN = envVar('shared', 'AUTH0_DOMAIN', '',
  optional(text('a hostname such as tenant.us.auth0.com, without https://', isHostname)),
  'Auth0 tenant (required when ENABLE_AUTH or SIDECAR_AUTH is on, unless AUTH_JWKS_URL and AUTH_ISSUER are set)')
export const AUTH0_AUDIENCE = envVar('shared', 'AUTH0_AUDIENCE', '',
  optional(text('an API identifier without spaces, up to 512 characters', (s) => s.length <= 512 && /^\S+$/.test(s))),
  'Auth0 API audience, the aud tokens must include (required when ENABLE_AUTH or SIDECAR_AUTH is on)')
export const P2P_NODE_TOKEN = envVar('proxy', 'P2P_NODE_TOKEN', '',
  optional(text('a JWT (no spaces, up to 16384 characters)', (s) => s.length <= 16_384 && /^[A-Za-z0-9._~+/=-]+$/.test(s))),
  'JWT the proxy presents to its nodes (Request.jwt_token and Bearer metadata); needed when the nodes have SIDECAR_AUTH on')
export const REDIS_URL = envVar('proxy', 'REDIS_URL', 'redis://127.0.0.1:6379', redisUrl(), 'Redis holding all proxy state')
export const REDIS_PREFIX = envVar('proxy', 'REDIS_PREFIX', 'optimum:',
  text('1 to 64 characters from letters, digits and : _ . - /', (s) => /^[A-Za-z0-9:_./-]{1,64}$/.test(s)),
  'Prefix of every Redis key the proxy writes')

// Proxy state and delivery (proxy/store, proxy/delivery).
export const REDIS_MODE = envVar('proxy', 'REDIS_MODE', 'standalone', oneOf(REDIS_MODES),
  'standalone, or cluster: REDIS_URL is then one node of a Redis Cluster')
export const PROXY_MESSAGE_TTL = envVar('proxy', 'PROXY_MESSAGE_TTL', '3600', int(1, 30 * DAY, 'seconds, up to 30 days'),
  'Seconds a message body and its node receipts are kept in Redis (replay needs the body)')
export const PROXY_STREAM_MAX_LEN = envVar('proxy', 'PROXY_STREAM_MAX_LEN', '100000', int(100, 100_000_000),
  'Events kept per topic stream (about); replay past them reports a gap')
export const PROXY_STREAM_MAX_AGE = envVar('proxy', 'PROXY_STREAM_MAX_AGE', '3600', int(1, 30 * DAY, 'seconds, up to 30 days'),
  'Seconds an event stays in its topic stream; replay past them reports a gap')
export const PROXY_CLIENT_BUFFER = envVar('proxy', 'PROXY_CLIENT_BUFFER', '1024', int(1, 1_000_000),
  'Deliveries queued per client connection before it is closed as a slow consumer (it resumes from its cursor)')
export const PROXY_TRACES = envVar('proxy', 'PROXY_TRACES', 'false', bool(),
  'Ask every node for its protocol trace events (the tracer and live view); each node then streams every shard event to every replica')
// ---- proxy edges (HTTP, WebSocket, gRPC clients) ----
export const PROXY_EDGE = {
  defaultThreshold: envVar('proxy', 'SUBSCRIBER_THRESHOLD', '0.1', decimal(0, 1),
    'Threshold of a subscription that names none (gRPC stream subscribe frames, REST without threshold)'),
  maxMessageSize: envVar('proxy', 'PROXY_MAX_MSG_SIZE', String(MiB), int(1, 64 * MiB, 'bytes, up to 64 MiB'),
    'Largest message a client may publish, in bytes; larger REST bodies get 413'),
  clientBufferBytes: envVar('proxy', 'PROXY_CLIENT_BUFFER_BYTES', String(16 * MiB), int(64 * 1024, 1024 * MiB, 'bytes, 64 KiB to 1 GiB'),
    'Unsent bytes a WebSocket or gRPC client may fall behind before it is disconnected (it resumes from its cursor)'),
  publishTimeoutMs: envVar('proxy', 'PROXY_PUBLISH_TIMEOUT_MS', '5000', int(100, 120_000, 'milliseconds, 100 to 120000'),
    'How long one node may take to ack a publish before the proxy tries the next node'),
}

// ---- partners: auth providers, durable publishes, webhooks (proxy/auth, proxy/queues, proxy/webhooks) ----
export const AUTH_JWKS_URL = envVar('shared', 'AUTH_JWKS_URL', '', optional(httpUrl()),
  'Where token signing keys are published; unset = https://AUTH0_DOMAIN/.well-known/jwks.json')
export const AUTH_ISSUER = envVar('shared', 'AUTH_ISSUER', '',
  optional(text('an issuer without spaces, up to 512 characters', (s) => s.length <= 512 && /^\S+$/.test(s))),
  'The iss tokens must carry; unset = https://AUTH0_DOMAIN/')
export const PARTNERS = {
  publishDeadlineMs: envVar('proxy', 'PROXY_PUBLISH_DEADLINE_MS', '3000', int(100, 120_000, 'milliseconds, 100 to 120000'),
    'How long a publish waits for a node ack before it is queued for retry on other nodes (and answered published)'),
  publishConfirmMs: envVar('proxy', 'PROXY_PUBLISH_CONFIRM_MS', '5000', int(100, 600_000, 'milliseconds, 100 to 600000'),
    'How long after a publish the proxy waits to see the message come back from a node before publishing it again elsewhere'),
  publishAttempts: envVar('proxy', 'PROXY_PUBLISH_ATTEMPTS', '10', int(1, 1000),
    'Attempts of a queued publish (on other nodes, from any replica) before it is given up'),
  webhookAttempts: envVar('proxy', 'WEBHOOK_ATTEMPTS', '5', int(1, 100), 'Attempts of one webhook delivery before it is recorded as failed'),
  webhookTimeoutMs: envVar('proxy', 'WEBHOOK_TIMEOUT_MS', '5000', int(100, 120_000, 'milliseconds, 100 to 120000'),
    'How long one webhook POST may take'),
  webhookBackoffMs: envVar('proxy', 'WEBHOOK_BACKOFF_MS', '500', int(10, 600_000, 'milliseconds, 10 to 600000'),
    'Wait before the first webhook retry; doubled for each next one'),
  webhookAllowPrivate: envVar('proxy', 'WEBHOOK_ALLOW_PRIVATE', 'false', bool(),
    'Allow webhook URLs on loopback, private, link-local and metadata addresses (and the proxy itself)'),
}

const protocolList = (p: ProtocolVars) => [p.port, p.maxMessageSize, p.meshMin, p.meshTarget, p.meshMax]

/** Every variable, in the order of the README table and .env.example. */
export const ENV_VARS: readonly EnvVarDoc[] = [
  CLUSTER_ID, LOG_LEVEL, LISTEN_HOST,
  NODE_MODE, SIDECAR_PORT, API_PORT, IDENTITY_DIR, BOOTSTRAP_PEERS, SIDECAR_QUEUE_SIZE, SIDECAR_QUEUE_BYTES,
  ...NODE_LIMIT_VARS, SIDECAR_AUTH,
  ...protocolList(OPTIMUM), OPTIMUM.shardFactor, OPTIMUM.shardMultiplier, OPTIMUM.threshold,
  ...protocolList(GOSSIPSUB),
  PROXY_PORT, PROXY_GRPC_PORT, P2P_NODES, ENABLE_AUTH, AUTH0_DOMAIN, AUTH0_AUDIENCE, P2P_NODE_TOKEN, REDIS_URL, REDIS_PREFIX,
  REDIS_MODE, PROXY_MESSAGE_TTL, PROXY_STREAM_MAX_LEN, PROXY_STREAM_MAX_AGE, PROXY_CLIENT_BUFFER, PROXY_TRACES,
  PROXY_EDGE.defaultThreshold, PROXY_EDGE.maxMessageSize, PROXY_EDGE.clientBufferBytes, PROXY_EDGE.publishTimeoutMs,
  AUTH_JWKS_URL, AUTH_ISSUER, ...Object.values(PARTNERS),
].map(({ name, group, default: d, accepted, help }) => ({ name, group, default: d, accepted, help }))
