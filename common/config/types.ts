import type { LogLevel } from '../logger.js'

export type NodeMode = 'optimum' | 'gossipsub'
export type RedisMode = 'standalone' | 'cluster'

/** Environment as read: names to raw text (unset = undefined). */
export type Env = Record<string, string | undefined>

export interface MeshConfig {
  min: number
  target: number
  max: number
}

export interface GossipsubConfig {
  port: number
  maxMessageSize: number
  mesh: MeshConfig
}

export interface OptimumConfig extends GossipsubConfig {
  shardFactor: number
  shardMultiplier: number
  threshold: number
}

/**
 * Where JWTs are verified (common/auth/provider.ts): Auth0's conventions for
 * auth0Domain unless authJwksUrl / authIssuer name another provider. The
 * parser guarantees a complete set whenever the part's auth switch is on.
 */
export interface AuthProviderConfig {
  /** AUTH0_DOMAIN, a hostname. */
  auth0Domain?: string
  /** AUTH0_AUDIENCE. */
  auth0Audience?: string
  /** AUTH_JWKS_URL, when set: instead of Auth0's. */
  authJwksUrl?: string
  /** AUTH_ISSUER, when set: instead of Auth0's. */
  authIssuer?: string
}

export interface NodeConfig {
  clusterId: string
  mode: NodeMode
  /** Address every server of the node binds (libp2p, sidecar, API). */
  listenHost: string
  sidecarPort: number
  apiPort: number
  /** Unset = a fresh identity on every start. */
  identityDir?: string
  /** Canonical multiaddrs, each ending in /p2p/<peer id>; no duplicates. */
  bootstrapPeers: string[]
  logLevel: LogLevel
  optimum: OptimumConfig
  gossipsub: GossipsubConfig
  /** Messages buffered per sidecar stream before the oldest is dropped. */
  sidecarQueueSize: number
  /** …or before their bodies add up to this many bytes. */
  sidecarQueueBytes: number
  /** Caps on what clients can make the node hold. */
  limits: NodeLimits
  /** What the node says about where it runs ('' = not configured). */
  location: { country: string; countryIso: string }
  /** SIDECAR_AUTH: publishes and subscribes need a valid JWT (Request.jwt_token, or Bearer metadata on Publish). */
  sidecarAuth: boolean
  /** The token provider; complete when sidecarAuth is on. */
  auth: AuthProviderConfig
}

export interface NodeLimits {
  /** Open ListenCommands streams, all clients together. */
  maxStreams: number
  /** …and on one client connection. */
  maxStreamsPerConnection: number
  maxTopicsPerStream: number
  /** Unary Publish calls in flight. */
  maxUnaryPublishes: number
  /** Topics with their own Prometheus series; the rest share topic="other". */
  metricsMaxTopics: number
}

/** A sidecar address; `host` is bare (IPv6 without brackets): format it with `formatHostPort`. */
export interface P2PNodeAddress {
  host: string
  port: number
}

export interface ProxyConfig extends AuthProviderConfig {
  clusterId: string
  listenHost: string
  httpPort: number
  grpcPort: number
  /** At least one; no duplicates. */
  p2pNodes: P2PNodeAddress[]
  enableAuth: boolean
  /** P2P_NODE_TOKEN: the JWT the proxy presents to its nodes (for nodes with SIDECAR_AUTH on). */
  nodeToken?: string
  logLevel: LogLevel
  redisUrl: string
  redisPrefix: string
  redisMode: RedisMode
  /** Seconds a message body and its receipts live in Redis. */
  messageTtlSeconds: number
  /** Events kept per topic stream (approximately, Redis `MAXLEN ~`). */
  streamMaxLength: number
  /** Seconds an event stays in its topic stream. */
  streamMaxAgeSeconds: number
  /** Deliveries queued per client connection before it is closed as a slow consumer. */
  clientBufferSize: number
  /** Whether the node links ask for trace events (PROXY_TRACES). */
  traces: boolean
  edge: ProxyEdgeConfig
  durablePublish: DurablePublishConfig
  webhooks: WebhookConfig
}

/** Publishes that no node acked in time, retried from a queue (proxy/queues). */
export interface DurablePublishConfig {
  deadlineMs: number
  confirmMs: number
  attempts: number
}

/** Deliveries POSTed to subscribers' webhooks (proxy/webhooks). */
export interface WebhookConfig {
  attempts: number
  timeoutMs: number
  /** First retry delay; doubled each time. */
  backoffMs: number
  /** Loopback, private, link-local and metadata targets allowed. */
  allowPrivate: boolean
}

/** What the proxy's client-facing servers (HTTP, WebSocket, gRPC) enforce. */
export interface ProxyEdgeConfig {
  /** In [0,1]: for subscriptions that name no threshold. */
  defaultThreshold: number
  maxMessageSize: number
  clientBufferBytes: number
  publishTimeoutMs: number
}
