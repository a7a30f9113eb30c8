/** From environment text to typed config: one read per variable, then the checks that span variables. */
import { ConfigError } from './error.js'
import { Invalid } from './kinds.js'
import type { AuthProviderConfig, Env, MeshConfig, NodeConfig, ProxyConfig } from './types.js'
import * as V from './variables.js'
import type { EnvVar, ProtocolVars } from './variables.js'

/** The trimmed text of a variable; '' when unset or blank. */
function given(env: Env, v: EnvVar<unknown>): string {
  return env[v.name]?.trim() ?? ''
}

function read<T>(env: Env, v: EnvVar<T>): T {
  const text = given(env, v)
  try {
    return v.kind.parse(text === '' ? v.default : text)
  } catch (err) {
    if (!(err instanceof Invalid)) throw err
    throw ConfigError.invalid(v.name, v.kind.show?.(text) ?? text, v.accepted, err.reason)
  }
}

/** `NAME=value` for a message, marking a value that came from the default. */
function setting(env: Env, v: EnvVar<unknown>, value: unknown): string {
  return `${v.name}=${String(value)}${given(env, v) === '' ? ' (default)' : ''}`
}

/**
 * `a` must not exceed `b`. The variable blamed is the one that was set (the
 * other may be a default); `expected` says the whole rule.
 */
function requireOrder(env: Env, a: EnvVar<unknown>, aValue: number, b: EnvVar<unknown>, bValue: number, expected: string): void {
  if (aValue <= bValue) return
  const blameB = given(env, a) === '' && given(env, b) !== ''
  const [culprit, relation, other, otherValue] = blameB ? [b, 'less', a, aValue] : [a, 'greater', b, bValue]
  throw ConfigError.invalid(culprit.name, given(env, culprit), expected, `it is ${relation} than ${setting(env, other, otherValue)}`)
}

function readMesh(env: Env, p: ProtocolVars): MeshConfig {
  const mesh = { min: read(env, p.meshMin), target: read(env, p.meshTarget), max: read(env, p.meshMax) }
  const rule = `${p.meshMin.name} <= ${p.meshTarget.name} <= ${p.meshMax.name}`
  requireOrder(env, p.meshMin, mesh.min, p.meshTarget, mesh.target, rule)
  requireOrder(env, p.meshTarget, mesh.target, p.meshMax, mesh.max, rule)
  return mesh
}

function readProtocol(env: Env, p: ProtocolVars) {
  return { port: read(env, p.port), maxMessageSize: read(env, p.maxMessageSize), mesh: readMesh(env, p) }
}

/** Servers of one process need their own ports (0 = any free port never clashes). Later ones are blamed. */
function requireDistinctPorts(env: Env, ports: [EnvVar<number>, number][]): void {
  ports.forEach(([v, value], i) => {
    const clash = ports.slice(0, i).find(([, earlier]) => earlier === value && value !== 0)
    if (clash) {
      throw ConfigError.invalid(v.name, given(env, v), 'a port no other server of this process uses (or 0)',
        `it is the same as ${setting(env, clash[0], clash[1])}`)
    }
  })
}

/**
 * The token provider (shared by the proxy's ENABLE_AUTH and the node's
 * SIDECAR_AUTH). With `enabled` on, AUTH0_AUDIENCE is required, and
 * AUTH0_DOMAIN too unless AUTH_JWKS_URL and AUTH_ISSUER name another provider.
 */
function readAuthProvider(env: Env, authSwitch: EnvVar<boolean>, enabled: boolean): AuthProviderConfig {
  const values: AuthProviderConfig = {
    auth0Domain: read(env, V.AUTH0_DOMAIN),
    auth0Audience: read(env, V.AUTH0_AUDIENCE),
    authJwksUrl: read(env, V.AUTH_JWKS_URL),
    authIssuer: read(env, V.AUTH_ISSUER),
  }
  const otherProvider = values.authJwksUrl !== undefined && values.authIssuer !== undefined
  if (enabled) {
    for (const [v, key] of [[V.AUTH0_DOMAIN, 'auth0Domain'], [V.AUTH0_AUDIENCE, 'auth0Audience']] as const) {
      if (values[key] !== undefined || (otherProvider && key === 'auth0Domain')) continue
      throw ConfigError.invalid(v.name, '', v.accepted, `it is required when ${setting(env, authSwitch, true)}`)
    }
  }
  const provider: AuthProviderConfig = {}
  for (const key of ['auth0Domain', 'auth0Audience', 'authJwksUrl', 'authIssuer'] as const) {
    if (values[key] !== undefined) provider[key] = values[key]
  }
  return provider
}

/** The P2P node's configuration; throws ConfigError naming the first bad variable. */
export function parseNodeConfig(env: Env): NodeConfig {
  const config: NodeConfig = {
    clusterId: read(env, V.CLUSTER_ID),
    mode: read(env, V.NODE_MODE),
    listenHost: read(env, V.LISTEN_HOST),
    sidecarPort: read(env, V.SIDECAR_PORT),
    apiPort: read(env, V.API_PORT),
    identityDir: read(env, V.IDENTITY_DIR),
    bootstrapPeers: read(env, V.BOOTSTRAP_PEERS),
    logLevel: read(env, V.LOG_LEVEL),
    optimum: {
      ...readProtocol(env, V.OPTIMUM),
      shardFactor: read(env, V.OPTIMUM.shardFactor),
      shardMultiplier: read(env, V.OPTIMUM.shardMultiplier),
      threshold: read(env, V.OPTIMUM.threshold),
    },
    gossipsub: readProtocol(env, V.GOSSIPSUB),
    sidecarQueueSize: read(env, V.SIDECAR_QUEUE_SIZE),
    sidecarQueueBytes: read(env, V.SIDECAR_QUEUE_BYTES),
    limits: {
      maxStreams: read(env, V.SIDECAR_MAX_STREAMS),
      maxStreamsPerConnection: read(env, V.SIDECAR_MAX_STREAMS_PER_CONNECTION),
      maxTopicsPerStream: read(env, V.SIDECAR_MAX_TOPICS_PER_STREAM),
      maxUnaryPublishes: read(env, V.SIDECAR_MAX_UNARY_PUBLISHES),
      metricsMaxTopics: read(env, V.METRICS_MAX_TOPICS),
    },
    location: { country: read(env, V.NODE_COUNTRY) ?? '', countryIso: (read(env, V.NODE_COUNTRY_ISO) ?? '').toUpperCase() },
    sidecarAuth: read(env, V.SIDECAR_AUTH),
    auth: {},
  }
  config.auth = readAuthProvider(env, V.SIDECAR_AUTH, config.sidecarAuth)
  if (config.identityDir === undefined) delete config.identityDir
  const p2p = config.mode === 'optimum' ? V.OPTIMUM.port : V.GOSSIPSUB.port
  requireDistinctPorts(env, [
    [V.SIDECAR_PORT, config.sidecarPort],
    [V.API_PORT, config.apiPort],
    [p2p, config[config.mode].port],
  ])
  return config
}

/** The proxy's configuration; throws ConfigError naming the first bad variable. */
export function parseProxyConfig(env: Env): ProxyConfig {
  const config: ProxyConfig = {
    clusterId: read(env, V.CLUSTER_ID),
    listenHost: read(env, V.LISTEN_HOST),
    httpPort: read(env, V.PROXY_PORT),
    grpcPort: read(env, V.PROXY_GRPC_PORT),
    p2pNodes: read(env, V.P2P_NODES),
    enableAuth: read(env, V.ENABLE_AUTH),
    nodeToken: read(env, V.P2P_NODE_TOKEN),
    logLevel: read(env, V.LOG_LEVEL),
    redisUrl: read(env, V.REDIS_URL),
    redisPrefix: read(env, V.REDIS_PREFIX),
    redisMode: read(env, V.REDIS_MODE),
    messageTtlSeconds: read(env, V.PROXY_MESSAGE_TTL),
    streamMaxLength: read(env, V.PROXY_STREAM_MAX_LEN),
    streamMaxAgeSeconds: read(env, V.PROXY_STREAM_MAX_AGE),
    clientBufferSize: read(env, V.PROXY_CLIENT_BUFFER),
    traces: read(env, V.PROXY_TRACES),
    edge: {
      defaultThreshold: read(env, V.PROXY_EDGE.defaultThreshold),
      maxMessageSize: read(env, V.PROXY_EDGE.maxMessageSize),
      clientBufferBytes: read(env, V.PROXY_EDGE.clientBufferBytes),
      publishTimeoutMs: read(env, V.PROXY_EDGE.publishTimeoutMs),
    },
    durablePublish: {
      deadlineMs: read(env, V.PARTNERS.publishDeadlineMs),
      confirmMs: read(env, V.PARTNERS.publishConfirmMs),
      attempts: read(env, V.PARTNERS.publishAttempts),
    },
    webhooks: {
      attempts: read(env, V.PARTNERS.webhookAttempts),
      timeoutMs: read(env, V.PARTNERS.webhookTimeoutMs),
      backoffMs: read(env, V.PARTNERS.webhookBackoffMs),
      allowPrivate: read(env, V.PARTNERS.webhookAllowPrivate),
    },
  }
  if (config.nodeToken === undefined) delete config.nodeToken
  Object.assign(config, readAuthProvider(env, V.ENABLE_AUTH, config.enableAuth))
  requireDistinctPorts(env, [
    [V.PROXY_PORT, config.httpPort],
    [V.PROXY_GRPC_PORT, config.grpcPort],
  ])
  return config
}

/** `host:port` as a dial target: IPv6 hosts in brackets. */
export function formatHostPort(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}
