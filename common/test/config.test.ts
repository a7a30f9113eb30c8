import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { parse as parseDotenv } from 'dotenv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConfigError,
  ENV_VARS,
  formatHostPort,
  loadConfigOrExit,
  parseNodeConfig,
  parseProxyConfig,
  readEnv,
  renderEnvTable,
  type Env,
  type NodeConfig,
  type ProxyConfig,
} from '../config/index.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CONFIG_INDEX = join(ROOT, 'common/config/index.ts')
/** The proxy refuses to start without nodes; tests of other proxy variables give it one. */
const PROXY_BASE: Env = { P2P_NODES: 'p2pnode-1:33212' }
const AUTH_ON: Env = { ENABLE_AUTH: 'true', AUTH0_DOMAIN: 'tenant.us.auth0.com', AUTH0_AUDIENCE: 'https://api.example.com' }

let PEER: string
let PEER2: string
beforeAll(async () => {
  PEER = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  PEER2 = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
})

function accepted(name: string): string {
  const v = ENV_VARS.find((x) => x.name === name)
  if (!v) throw new Error(`no variable ${name}`)
  return v.accepted
}

/** The ConfigError a call throws (fails the test when it does not throw one). */
function configError(f: () => unknown): ConfigError {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

function expectOneLine(message: string): void {
  expect(message).not.toMatch(/[\r\n\u2028\u2029]/)
}

// ---------------------------------------------------------------- defaults

describe('defaults', () => {
  it('gives the node the published defaults', () => {
    expect(parseNodeConfig({})).toEqual({
      clusterId: '',
      mode: 'optimum',
      listenHost: '0.0.0.0',
      sidecarPort: 33212,
      apiPort: 9090,
      bootstrapPeers: [],
      logLevel: 'info',
      optimum: {
        port: 7070,
        maxMessageSize: 1048576,
        mesh: { min: 3, target: 6, max: 12 },
        shardFactor: 4,
        shardMultiplier: 1.5,
        threshold: 0.75,
      },
      gossipsub: { port: 6060, maxMessageSize: 1048576, mesh: { min: 3, target: 6, max: 12 } },
      sidecarQueueSize: 10000,
      sidecarQueueBytes: 67108864,
      limits: { maxStreams: 1024, maxStreamsPerConnection: 64, maxTopicsPerStream: 1024, maxUnaryPublishes: 1024, metricsMaxTopics: 256 },
      location: { country: '', countryIso: '' },
      sidecarAuth: false,
      auth: {},
    } satisfies NodeConfig)
    expect('identityDir' in parseNodeConfig({})).toBe(false)
  })

  it('gives the proxy its defaults', () => {
    const config = parseProxyConfig(PROXY_BASE)
    expect(config).toEqual({
      clusterId: '',
      listenHost: '0.0.0.0',
      httpPort: 8080,
      grpcPort: 50051,
      p2pNodes: [{ host: 'p2pnode-1', port: 33212 }],
      enableAuth: false,
      logLevel: 'info',
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'optimum:',
      redisMode: 'standalone',
      messageTtlSeconds: 3600,
      streamMaxLength: 100000,
      streamMaxAgeSeconds: 3600,
      clientBufferSize: 1024,
      traces: false,
      edge: { defaultThreshold: 0.1, maxMessageSize: 1048576, clientBufferBytes: 16777216, publishTimeoutMs: 5000 },
      durablePublish: { deadlineMs: 3000, confirmMs: 5000, attempts: 10 },
      webhooks: { attempts: 5, timeoutMs: 5000, backoffMs: 500, allowPrivate: false },
    } satisfies ProxyConfig)
    expect('auth0Domain' in config || 'auth0Audience' in config).toBe(false)
  })

  it('reads a blank or whitespace value as the default, for every variable', () => {
    for (const v of ENV_VARS) {
      if (v.name === 'P2P_NODES') continue
      for (const blank of ['', '   ', '\t']) {
        expect(parseNodeConfig({ [v.name]: blank }), v.name).toEqual(parseNodeConfig({}))
        expect(parseProxyConfig({ ...PROXY_BASE, [v.name]: blank }), v.name).toEqual(parseProxyConfig(PROXY_BASE))
      }
    }
  })

  it('ignores variables it does not know', () => {
    expect(parseNodeConfig({ PATH: '/bin', BOOTSTRAP_PEER_ID: 'x' })).toEqual(parseNodeConfig({}))
  })
})

// ---------------------------------------------------------------- every variable, good and bad

type Getter = { side: 'node'; get: (c: NodeConfig) => unknown } | { side: 'proxy'; get: (c: ProxyConfig) => unknown } | { side: 'both'; get: (c: NodeConfig | ProxyConfig) => unknown }
interface Case {
  at: Getter
  /** Other variables the case needs (e.g. auth settings). */
  base?: Env
  good: [input: string, expected: unknown][]
  bad: string[]
}

const node = (get: (c: NodeConfig) => unknown): Getter => ({ side: 'node', get })
const proxy = (get: (c: ProxyConfig) => unknown): Getter => ({ side: 'proxy', get })
const both = (get: (c: NodeConfig | ProxyConfig) => unknown): Getter => ({ side: 'both', get })

const BAD_INT = ['abc', '12abc', '1.5', '1e3', '0x10', '-1', '+5', '1 000']
const BAD_PORT = [...BAD_INT, '65536', '::8080', '8080:', 'localhost:8080']
const goodPort = (n: number): [string, unknown][] => [[String(n), n], [`:${n}`, n], [`  ${n} `, n], ['0', 0]]

const CASES: Record<string, Case> = {
  CLUSTER_ID: { at: both((c) => c.clusterId), good: [['p2pnode-1', 'p2pnode-1'], ['  docker dev cluster ', 'docker dev cluster'], ['x'.repeat(128), 'x'.repeat(128)]], bad: ['a\u0001b', 'x'.repeat(129)] },
  LOG_LEVEL: { at: both((c) => c.logLevel), good: [['debug', 'debug'], ['WARN', 'warn'], [' silent ', 'silent'], ['trace', 'trace']], bad: ['verbose', 'warning', 'info,debug', '3'] },
  LISTEN_HOST: {
    at: both((c) => c.listenHost),
    good: [['127.0.0.1', '127.0.0.1'], ['::', '::'], ['[::1]', '::1'], ['fe80::1', 'fe80::1'], ['localhost', 'localhost'], ['p2p_node-1.internal', 'p2p_node-1.internal']],
    bad: ['999.1.1.1', 'bad host', 'host!', '[1.2.3.4]', 'a..b', '-lead.example', 'http://x', 'host:80'],
  },
  NODE_MODE: { at: node((c) => c.mode), good: [['optimum', 'optimum'], ['gossipsub', 'gossipsub'], [' GossipSub ', 'gossipsub'], ['OPTIMUM', 'optimum']], bad: ['rlnc', 'floodsub', 'optimum,gossipsub', 'opt imum'] },
  SIDECAR_PORT: { at: node((c) => c.sidecarPort), good: goodPort(33221), bad: BAD_PORT },
  API_PORT: { at: node((c) => c.apiPort), good: goodPort(9091), bad: BAD_PORT },
  IDENTITY_DIR: { at: node((c) => c.identityDir), good: [['/identity', '/identity'], [' ./identity ', './identity'], ['C:\\keys dir', 'C:\\keys dir']], bad: ['/identity\u0007', 'a\u0000b'] },
  BOOTSTRAP_PEERS: {
    at: node((c) => c.bootstrapPeers),
    // filled in beforeAll-dependent tests below (the peer ids are generated); these are the static ones
    good: [[',', []], [' , ,', []]],
    bad: ['/ip4/1.2.3.4/tcp/7070', 'not-a-multiaddr', '/ip4/1.2.3.4/tcp/7070/p2p/', '/ip4/1.2.3.4/tcp/7070/p2p/12D3KooWbad', '/ip4/999.1.1.1/tcp/7070'],
  },
  SIDECAR_QUEUE_SIZE: { at: node((c) => c.sidecarQueueSize), good: [['16', 16], ['1000000', 1_000_000], ['500', 500]], bad: [...BAD_INT, '15', '0', '1000001'] },
  SIDECAR_QUEUE_BYTES: { at: node((c) => c.sidecarQueueBytes), good: [['1048576', 1048576], ['67108864', 67108864], ['17179869184', 17179869184]], bad: [...BAD_INT, '0', '1048575', '17179869185'] },
  SIDECAR_MAX_STREAMS: { at: node((c) => c.limits.maxStreams), good: [['1', 1], ['100000', 100_000]], bad: [...BAD_INT, '0', '100001'] },
  SIDECAR_MAX_STREAMS_PER_CONNECTION: { at: node((c) => c.limits.maxStreamsPerConnection), good: [['1', 1], ['8', 8]], bad: [...BAD_INT, '0', '100001'] },
  SIDECAR_MAX_TOPICS_PER_STREAM: { at: node((c) => c.limits.maxTopicsPerStream), good: [['1', 1], ['5000', 5000]], bad: [...BAD_INT, '0', '1000001'] },
  SIDECAR_MAX_UNARY_PUBLISHES: { at: node((c) => c.limits.maxUnaryPublishes), good: [['1', 1], ['64', 64]], bad: [...BAD_INT, '0', '1000001'] },
  METRICS_MAX_TOPICS: { at: node((c) => c.limits.metricsMaxTopics), good: [['0', 0], ['1000', 1000]], bad: [...BAD_INT, '100001'] },
  NODE_COUNTRY: { at: node((c) => c.location.country), good: [['Germany', 'Germany'], [' United States ', 'United States']], bad: ['a\u0001b', 'x'.repeat(65)] },
  NODE_COUNTRY_ISO: { at: node((c) => c.location.countryIso), good: [['DE', 'DE'], ['us', 'US']], bad: ['DEU', 'D', 'D1', 'de-DE'] },
  SIDECAR_AUTH: {
    at: node((c) => c.sidecarAuth),
    base: { AUTH0_DOMAIN: AUTH_ON.AUTH0_DOMAIN, AUTH0_AUDIENCE: AUTH_ON.AUTH0_AUDIENCE },
    good: [['true', true], ['0', false]],
    bad: ['on', '2'],
  },

  OPTIMUM_PORT: { at: node((c) => c.optimum.port), good: goodPort(7071), bad: BAD_PORT },
  OPTIMUM_MAX_MSG_SIZE: { at: node((c) => c.optimum.maxMessageSize), good: [['1', 1], ['4194304', 4194304], ['67108864', 67108864]], bad: [...BAD_INT, '0', '67108865', '1MB'] },
  OPTIMUM_MESH_MIN: { at: node((c) => c.optimum.mesh.min), good: [['1', 1], ['6', 6]], bad: [...BAD_INT, '0', '1001'] },
  OPTIMUM_MESH_TARGET: { at: node((c) => c.optimum.mesh.target), good: [['3', 3], ['12', 12]], bad: [...BAD_INT, '0', '1001'] },
  OPTIMUM_MESH_MAX: { at: node((c) => c.optimum.mesh.max), good: [['6', 6], ['1000', 1000]], bad: [...BAD_INT, '0', '1001'] },
  OPTIMUM_SHARD_FACTOR: { at: node((c) => c.optimum.shardFactor), good: [['1', 1], ['8', 8], ['255', 255]], bad: [...BAD_INT, '0', '256'] },
  OPTIMUM_SHARD_MULT: { at: node((c) => c.optimum.shardMultiplier), good: [['1', 1], ['2.25', 2.25], ['16', 16], ['1.', 1], ['016', 16]], bad: ['abc', '0.99', '16.01', '-1.5', '1e1', 'Infinity', 'NaN', '1,5', '0x2', '.'] },
  OPTIMUM_THRESHOLD: { at: node((c) => c.optimum.threshold), good: [['0', 0], ['1', 1], ['0.5', 0.5], ['.9', 0.9], ['1.0', 1]], bad: ['abc', '-0.1', '1.01', '75%', '7.5e-1', '2', 'NaN'] },

  GOSSIPSUB_PORT: { at: node((c) => c.gossipsub.port), good: goodPort(6061), bad: BAD_PORT },
  GOSSIPSUB_MAX_MSG_SIZE: { at: node((c) => c.gossipsub.maxMessageSize), good: [['1', 1], ['2097152', 2097152], ['4190208', 4190208]], bad: [...BAD_INT, '0', '4190209', '4194304'] },
  GOSSIPSUB_MESH_MIN: { at: node((c) => c.gossipsub.mesh.min), good: [['1', 1], ['4', 4], ['6', 6]], bad: [...BAD_INT, '0', '1001'] },
  GOSSIPSUB_MESH_TARGET: { at: node((c) => c.gossipsub.mesh.target), good: [['3', 3], ['8', 8], ['12', 12]], bad: [...BAD_INT, '0', '1001'] },
  GOSSIPSUB_MESH_MAX: { at: node((c) => c.gossipsub.mesh.max), good: [['6', 6], ['24', 24]], bad: [...BAD_INT, '0', '1001'] },

  PROXY_PORT: { at: proxy((c) => c.httpPort), good: goodPort(8081), bad: BAD_PORT },
  PROXY_GRPC_PORT: { at: proxy((c) => c.grpcPort), good: goodPort(50052), bad: BAD_PORT },
  P2P_NODES: {
    at: proxy((c) => c.p2pNodes),
    good: [
      ['127.0.0.1:33221', [{ host: '127.0.0.1', port: 33221 }]],
      ['p2pnode-1:33212, p2pnode-2:33212,', [{ host: 'p2pnode-1', port: 33212 }, { host: 'p2pnode-2', port: 33212 }]],
      ['[::1]:33212,[2001:db8::7]:1', [{ host: '::1', port: 33212 }, { host: '2001:db8::7', port: 1 }]],
      ['a:1,A:1,a:1,b:1', [{ host: 'a', port: 1 }, { host: 'b', port: 1 }]],
    ],
    bad: ['', ' , ', 'p2pnode-1', 'p2pnode-1:', ':33212', 'p2pnode-1:0', 'p2pnode-1:65536', 'p2pnode-1:port', '::1:33212', '[::1]', '[1.2.3.4]:1', 'bad host:1', 'ok:1,bad', '999.0.0.1:1'],
  },
  ENABLE_AUTH: {
    at: proxy((c) => c.enableAuth),
    base: { AUTH0_DOMAIN: AUTH_ON.AUTH0_DOMAIN, AUTH0_AUDIENCE: AUTH_ON.AUTH0_AUDIENCE },
    good: [['true', true], ['TRUE', true], ['1', true], ['Yes', true], ['false', false], ['0', false], ['no', false], [' False ', false]],
    bad: ['on', 'off', 'y', 'enabled', '2', 'truee'],
  },
  AUTH0_DOMAIN: { at: proxy((c) => c.auth0Domain), good: [['tenant.us.auth0.com', 'tenant.us.auth0.com'], [' login.example.org ', 'login.example.org']], bad: ['https://tenant.auth0.com', 'tenant.auth0.com/', 'a b', 'tenant..com'] },
  P2P_NODE_TOKEN: { at: proxy((c) => c.nodeToken), good: [['eyJh.eyJz.c2ln', 'eyJh.eyJz.c2ln'], [' a-b_c.d ', 'a-b_c.d']], bad: ['a b', 'a\u0001b', 'x'.repeat(16_385)] },
  AUTH0_AUDIENCE: { at: proxy((c) => c.auth0Audience), good: [['https://api.example.com', 'https://api.example.com'], ['optimum-api', 'optimum-api']], bad: ['my api', 'x'.repeat(513)] },
  REDIS_URL: {
    at: proxy((c) => c.redisUrl),
    good: [['redis://redis:6379', 'redis://redis:6379'], ['rediss://cache.example.com:6380/2', 'rediss://cache.example.com:6380/2'], ['redis://[::1]:6379', 'redis://[::1]:6379'], ['redis://:pw@h:1', 'redis://:pw@h:1']],
    bad: ['127.0.0.1:6379', 'http://redis:6379', 'redis://', 'redis:///0', 'not a url', 'redis://h:99999'],
  },
  REDIS_PREFIX: { at: proxy((c) => c.redisPrefix), good: [['app:', 'app:'], ['a/b.c-d_e:', 'a/b.c-d_e:']], bad: ['has space', '{tag}:', 'x'.repeat(65), 'ünï:'] },
  REDIS_MODE: { at: proxy((c) => c.redisMode), good: [['cluster', 'cluster'], [' standalone ', 'standalone']], bad: ['sentinel', 'Cluster x'] },
  PROXY_MESSAGE_TTL: { at: proxy((c) => c.messageTtlSeconds), good: [['1', 1], ['2592000', 2592000]], bad: ['0', '2592001', '1.5', '-1'] },
  PROXY_STREAM_MAX_LEN: { at: proxy((c) => c.streamMaxLength), good: [['100', 100], ['100000000', 100000000]], bad: ['99', '100000001', 'many'] },
  PROXY_STREAM_MAX_AGE: { at: proxy((c) => c.streamMaxAgeSeconds), good: [['1', 1], ['86400', 86400]], bad: ['0', '2592001', '1h'] },
  PROXY_CLIENT_BUFFER: { at: proxy((c) => c.clientBufferSize), good: [['1', 1], ['1000000', 1000000]], bad: ['0', '1000001', '1e3'] },
  PROXY_TRACES: { at: proxy((c) => c.traces), good: [['true', true], ['0', false]], bad: ['on', 'traces'] },
  SUBSCRIBER_THRESHOLD: { at: proxy((c) => c.edge.defaultThreshold), good: [['0', 0], ['0.7', 0.7], ['1', 1]], bad: ['-0.1', '1.5', 'half'] },
  PROXY_MAX_MSG_SIZE: { at: proxy((c) => c.edge.maxMessageSize), good: [['1', 1], ['4194304', 4194304]], bad: ['0', '67108865', '1MB'] },
  PROXY_CLIENT_BUFFER_BYTES: { at: proxy((c) => c.edge.clientBufferBytes), good: [['65536', 65536], ['1073741824', 1073741824]], bad: ['65535', '1073741825', 'lots'] },
  PROXY_PUBLISH_TIMEOUT_MS: { at: proxy((c) => c.edge.publishTimeoutMs), good: [['100', 100], ['120000', 120000]], bad: ['99', '120001', '5s'] },
  AUTH_JWKS_URL: {
    at: proxy((c) => c.authJwksUrl),
    good: [['https://login.example.org/keys', 'https://login.example.org/keys'], ['http://127.0.0.1:8000/jwks.json', 'http://127.0.0.1:8000/jwks.json']],
    bad: ['login.example.org/keys', 'ftp://h/keys', 'https://', 'not a url'],
  },
  AUTH_ISSUER: { at: proxy((c) => c.authIssuer), good: [['https://login.example.org/', 'https://login.example.org/'], ['issuer-1', 'issuer-1']], bad: ['my issuer', 'x'.repeat(513)] },
  PROXY_PUBLISH_DEADLINE_MS: { at: proxy((c) => c.durablePublish.deadlineMs), good: [['100', 100], ['120000', 120000]], bad: ['99', '120001', '3s'] },
  PROXY_PUBLISH_CONFIRM_MS: { at: proxy((c) => c.durablePublish.confirmMs), good: [['100', 100], ['600000', 600000]], bad: ['99', '600001', 'soon'] },
  PROXY_PUBLISH_ATTEMPTS: { at: proxy((c) => c.durablePublish.attempts), good: [['1', 1], ['1000', 1000]], bad: ['0', '1001', 'many'] },
  WEBHOOK_ATTEMPTS: { at: proxy((c) => c.webhooks.attempts), good: [['1', 1], ['100', 100]], bad: ['0', '101', 'x'] },
  WEBHOOK_TIMEOUT_MS: { at: proxy((c) => c.webhooks.timeoutMs), good: [['100', 100], ['120000', 120000]], bad: ['99', '120001', '5s'] },
  WEBHOOK_BACKOFF_MS: { at: proxy((c) => c.webhooks.backoffMs), good: [['10', 10], ['600000', 600000]], bad: ['9', '600001', '1m'] },
  WEBHOOK_ALLOW_PRIVATE: { at: proxy((c) => c.webhooks.allowPrivate), good: [['true', true], ['no', false]], bad: ['loopback', '2'] },
}

function parseFor(at: Getter, env: Env): unknown[] {
  const results: unknown[] = []
  if (at.side !== 'proxy') results.push(at.get(parseNodeConfig(env) as NodeConfig & ProxyConfig))
  if (at.side !== 'node') results.push(at.get(parseProxyConfig({ ...PROXY_BASE, ...env }) as NodeConfig & ProxyConfig))
  return results
}

function expectRejected(at: Getter, name: string, input: string, env: Env): ConfigError {
  const parsers = at.side === 'node' ? [parseNodeConfig] : at.side === 'proxy' ? [parseProxyConfig] : [parseNodeConfig, parseProxyConfig]
  let last!: ConfigError
  for (const parse of parsers) {
    const err = configError(() => parse({ ...PROXY_BASE, ...env, [name]: input }))
    expect(err.variable).toBe(name)
    expectOneLine(err.message)
    const shown = input.trim().length > 300 ? `${input.trim().slice(0, 300)}…` : input.trim()
    expect(err.message.startsWith(`${name}=${JSON.stringify(shown)} is invalid: `), err.message).toBe(true)
    expect(err.message.endsWith(`expected ${accepted(name)}`), err.message).toBe(true)
    last = err
  }
  return last
}

describe('every variable', () => {
  it('has good and bad cases here, and nothing else does', () => {
    expect(Object.keys(CASES).sort()).toEqual(ENV_VARS.map((v) => v.name).sort())
    for (const [name, c] of Object.entries(CASES)) {
      expect(c.good.length, name).toBeGreaterThan(0)
      expect(c.bad.length, name).toBeGreaterThan(0)
    }
  })

  for (const [name, c] of Object.entries(CASES)) {
    describe(name, () => {
      it.each(c.good)('accepts %j', (input, expected) => {
        for (const value of parseFor(c.at, { ...c.base, [name]: input })) expect(value).toEqual(expected)
      })
      it.each(c.bad)('rejects %j with one line naming it, the value and what is accepted', (input) => {
        expectRejected(c.at, name, input, c.base ?? {})
      })
    })
  }
})

// ---------------------------------------------------------------- details

describe('ports', () => {
  const ports = ['SIDECAR_PORT', 'API_PORT', 'OPTIMUM_PORT', 'GOSSIPSUB_PORT', 'PROXY_PORT', 'PROXY_GRPC_PORT']

  it.each(ports)('%s takes the published ":8080" form', (name) => {
    const c = CASES[name]!
    expect(parseFor(c.at, { [name]: ':18080' })).toEqual(parseFor(c.at, { [name]: '18080' }))
    expect(parseFor(c.at, { [name]: ':18080' })[0]).toBe(18080)
  })

  it('reads the published proxy compose values', () => {
    const config = parseProxyConfig({ PROXY_PORT: ':8080', PROXY_GRPC_PORT: ':50051', P2P_NODES: 'p2pnode-1:33212,p2pnode-2:33212,p2pnode-3:33212,p2pnode-4:33212', ENABLE_AUTH: 'false', LOG_LEVEL: 'debug', CLUSTER_ID: 'proxy-1' })
    expect(config.httpPort).toBe(8080)
    expect(config.grpcPort).toBe(50051)
    expect(config.p2pNodes).toHaveLength(4)
  })

  it('refuses two servers of the node on one port, naming both variables', () => {
    const err = configError(() => parseNodeConfig({ API_PORT: ':33212' }))
    expect(err.message).toBe('API_PORT=":33212" is invalid: it is the same as SIDECAR_PORT=33212 (default); expected a port no other server of this process uses (or 0)')
    expect(configError(() => parseNodeConfig({ OPTIMUM_PORT: '9090' })).variable).toBe('OPTIMUM_PORT')
    expect(configError(() => parseNodeConfig({ NODE_MODE: 'gossipsub', GOSSIPSUB_PORT: '33212' })).message).toContain('GOSSIPSUB_PORT="33212" is invalid: it is the same as SIDECAR_PORT=33212')
    expect(configError(() => parseProxyConfig({ ...PROXY_BASE, PROXY_GRPC_PORT: '8080' })).message).toContain('it is the same as PROXY_PORT=8080 (default)')
  })

  it('lets ports clash where they cannot: 0 (any free port) and the inactive mode', () => {
    expect(parseNodeConfig({ SIDECAR_PORT: '0', API_PORT: '0', OPTIMUM_PORT: '0' }).apiPort).toBe(0)
    expect(parseNodeConfig({ NODE_MODE: 'optimum', GOSSIPSUB_PORT: '33212' }).gossipsub.port).toBe(33212)
    expect(parseProxyConfig({ ...PROXY_BASE, PROXY_PORT: '0', PROXY_GRPC_PORT: '0' }).grpcPort).toBe(0)
  })
})

describe('mesh ordering', () => {
  it.each(['OPTIMUM', 'GOSSIPSUB'])('%s: min <= target <= max, naming both variables', (p) => {
    const rule = `expected ${p}_MESH_MIN <= ${p}_MESH_TARGET <= ${p}_MESH_MAX`
    expect(configError(() => parseNodeConfig({ [`${p}_MESH_MIN`]: '8' })).message).toBe(
      `${p}_MESH_MIN="8" is invalid: it is greater than ${p}_MESH_TARGET=6 (default); ${rule}`)
    expect(configError(() => parseNodeConfig({ [`${p}_MESH_MAX`]: '4' })).message).toBe(
      `${p}_MESH_MAX="4" is invalid: it is less than ${p}_MESH_TARGET=6 (default); ${rule}`)
    expect(configError(() => parseNodeConfig({ [`${p}_MESH_TARGET`]: '2' })).message).toBe(
      `${p}_MESH_TARGET="2" is invalid: it is less than ${p}_MESH_MIN=3 (default); ${rule}`)
    expect(configError(() => parseNodeConfig({ [`${p}_MESH_TARGET`]: '13' })).message).toBe(
      `${p}_MESH_TARGET="13" is invalid: it is greater than ${p}_MESH_MAX=12 (default); ${rule}`)
    expect(configError(() => parseNodeConfig({ [`${p}_MESH_MIN`]: '5', [`${p}_MESH_TARGET`]: '4', [`${p}_MESH_MAX`]: '10' })).message).toBe(
      `${p}_MESH_MIN="5" is invalid: it is greater than ${p}_MESH_TARGET=4; ${rule}`)
  })

  it('accepts equal bounds and moves all three together', () => {
    expect(parseNodeConfig({ OPTIMUM_MESH_MIN: '5', OPTIMUM_MESH_TARGET: '5', OPTIMUM_MESH_MAX: '5' }).optimum.mesh).toEqual({ min: 5, target: 5, max: 5 })
    expect(parseNodeConfig({ GOSSIPSUB_MESH_MIN: '20', GOSSIPSUB_MESH_TARGET: '40', GOSSIPSUB_MESH_MAX: '80' }).gossipsub.mesh).toEqual({ min: 20, target: 40, max: 80 })
  })
})

describe('BOOTSTRAP_PEERS', () => {
  const addr = (ip: string, peer: string) => `/ip4/${ip}/tcp/7070/p2p/${peer}`

  it('takes multiaddrs ending in /p2p/<peer id>, trims, skips blanks and drops duplicates', () => {
    const a = addr('172.28.0.12', PEER)
    const b = `/dns4/p2pnode-2/tcp/7070/p2p/${PEER2}`
    const c = `/ip6/::1/tcp/7070/p2p/${PEER2}`
    expect(parseNodeConfig({ BOOTSTRAP_PEERS: a }).bootstrapPeers).toEqual([a])
    expect(parseNodeConfig({ BOOTSTRAP_PEERS: ` ${a} ,${b},, ${a},${c},` }).bootstrapPeers).toEqual([a, b, c])
  })

  it('takes the legacy Qm… peer id form', () => {
    const legacy = '/ip4/10.0.0.1/tcp/7070/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
    expect(parseNodeConfig({ BOOTSTRAP_PEERS: legacy }).bootstrapPeers).toEqual([legacy])
  })

  it.each([
    ['no /p2p', () => '/ip4/172.28.0.12/tcp/7070', 'does not end in /p2p/<peer id>'],
    ['not a multiaddr', () => '172.28.0.12:7070', 'is not a multiaddr'],
    ['a bad multiaddr', () => `/ip4/300.0.0.1/tcp/7070/p2p/${PEER}`, 'is not a multiaddr'],
    ['an unknown protocol', () => `/ipx/1/tcp/7070/p2p/${PEER}`, 'is not a multiaddr'],
    ['a bad peer id', () => '/ip4/172.28.0.12/tcp/7070/p2p/12D3KooWnotapeerid', 'has an invalid peer id "12D3KooWnotapeerid"'],
    ['an empty peer id (unset BOOTSTRAP_PEER_ID in compose)', () => '/ip4/172.28.0.12/tcp/7070/p2p/', 'BOOTSTRAP_PEER_ID'],
    ['no address before /p2p', () => `/p2p/${PEER}`, 'has no address before /p2p/<peer id>'],
    ['/p2p not at the end', () => `/ip4/1.2.3.4/tcp/7070/p2p/${PEER}/tcp/1`, 'does not end in /p2p/<peer id>'],
  ])('rejects %s, naming the entry', (_what, entry, reason) => {
    const bad = entry()
    const value = `${addr('10.0.0.1', PEER2)},${bad}`
    const err = expectRejected(CASES.BOOTSTRAP_PEERS!.at, 'BOOTSTRAP_PEERS', value, {})
    expect(err.message).toContain(`entry ${JSON.stringify(bad)} `)
    expect(err.message).toContain(reason)
  })
})

describe('P2P_NODES', () => {
  it('is required: an empty list says so', () => {
    const err = configError(() => parseProxyConfig({}))
    expect(err.message).toBe(`P2P_NODES="" is invalid: the list is empty; expected ${accepted('P2P_NODES')}`)
  })

  it.each([
    ['p2pnode-1', 'has no :port'],
    ['::1:33212', 'is an IPv6 address without [brackets]'],
    ['p2pnode-1:99999', 'has an invalid port "99999"'],
    ['bad_host!:1', 'has an invalid host "bad_host!"'],
    ['[p2pnode]:1', 'has an invalid host "[p2pnode]"'],
  ])('names the bad entry %j', (entry, reason) => {
    expect(configError(() => parseProxyConfig({ P2P_NODES: `ok:1,${entry}` })).message).toContain(`entry ${JSON.stringify(entry)} ${reason}`)
  })

  it('formats addresses back for dialling, IPv6 in brackets', () => {
    const nodes = parseProxyConfig({ P2P_NODES: '[::1]:33212,127.0.0.1:33221,p2pnode-1:33212' }).p2pNodes
    expect(nodes.map(formatHostPort)).toEqual(['[::1]:33212', '127.0.0.1:33221', 'p2pnode-1:33212'])
  })
})

describe('auth', () => {
  it('needs AUTH0_DOMAIN and AUTH0_AUDIENCE when ENABLE_AUTH is on', () => {
    const on = { ...PROXY_BASE, ENABLE_AUTH: 'yes' }
    expect(configError(() => parseProxyConfig(on)).message).toBe(
      `AUTH0_DOMAIN="" is invalid: it is required when ENABLE_AUTH=true; expected ${accepted('AUTH0_DOMAIN')}`)
    expect(configError(() => parseProxyConfig({ ...on, AUTH0_DOMAIN: 'tenant.auth0.com', AUTH0_AUDIENCE: '  ' })).message).toBe(
      `AUTH0_AUDIENCE="" is invalid: it is required when ENABLE_AUTH=true; expected ${accepted('AUTH0_AUDIENCE')}`)
    expect(configError(() => parseProxyConfig({ ...on, AUTH0_AUDIENCE: 'x' })).variable).toBe('AUTH0_DOMAIN')
  })

  it('needs no AUTH0_DOMAIN when AUTH_JWKS_URL and AUTH_ISSUER name another provider', () => {
    const other = { ...PROXY_BASE, ENABLE_AUTH: 'true', AUTH0_AUDIENCE: 'api', AUTH_JWKS_URL: 'https://id.example.org/jwks', AUTH_ISSUER: 'https://id.example.org/' }
    expect(parseProxyConfig(other)).toMatchObject({ authJwksUrl: 'https://id.example.org/jwks', authIssuer: 'https://id.example.org/', auth0Audience: 'api' })
    expect(configError(() => parseProxyConfig({ ...other, AUTH_ISSUER: '' })).variable).toBe('AUTH0_DOMAIN')
    expect(configError(() => parseProxyConfig({ ...other, AUTH0_AUDIENCE: '' })).variable).toBe('AUTH0_AUDIENCE')
  })

  it('reads the same provider for the node, required only with SIDECAR_AUTH on', () => {
    expect(parseNodeConfig({ ...AUTH_ON, ENABLE_AUTH: undefined, SIDECAR_AUTH: 'true' })).toMatchObject({
      sidecarAuth: true, auth: { auth0Domain: 'tenant.us.auth0.com', auth0Audience: 'https://api.example.com' },
    })
    expect(configError(() => parseNodeConfig({ SIDECAR_AUTH: 'true', AUTH0_DOMAIN: 'tenant.auth0.com' })).message).toBe(
      `AUTH0_AUDIENCE="" is invalid: it is required when SIDECAR_AUTH=true; expected ${accepted('AUTH0_AUDIENCE')}`)
    expect(parseNodeConfig({ SIDECAR_AUTH: 'true', AUTH0_AUDIENCE: 'api', AUTH_JWKS_URL: 'http://10.0.0.1/jwks', AUTH_ISSUER: 'me' }).auth)
      .toEqual({ auth0Audience: 'api', authJwksUrl: 'http://10.0.0.1/jwks', authIssuer: 'me' })
    expect(parseNodeConfig({ AUTH0_DOMAIN: 'tenant.auth0.com' })).toMatchObject({ sidecarAuth: false, auth: { auth0Domain: 'tenant.auth0.com' } })
  })

  it('reads P2P_NODE_TOKEN for the proxy, refusing spaces', () => {
    expect(parseProxyConfig({ ...PROXY_BASE, P2P_NODE_TOKEN: 'aaa.bbb.ccc' }).nodeToken).toBe('aaa.bbb.ccc')
    expect('nodeToken' in parseProxyConfig(PROXY_BASE)).toBe(false)
    expect(configError(() => parseProxyConfig({ ...PROXY_BASE, P2P_NODE_TOKEN: 'a b' })).variable).toBe('P2P_NODE_TOKEN')
  })

  it('carries both when on, and keeps them (validated) when off', () => {
    expect(parseProxyConfig({ ...PROXY_BASE, ...AUTH_ON })).toMatchObject({ enableAuth: true, auth0Domain: 'tenant.us.auth0.com', auth0Audience: 'https://api.example.com' })
    expect(parseProxyConfig({ ...PROXY_BASE, AUTH0_DOMAIN: 'tenant.auth0.com' })).toMatchObject({ enableAuth: false, auth0Domain: 'tenant.auth0.com' })
    expect(configError(() => parseProxyConfig({ ...PROXY_BASE, AUTH0_DOMAIN: 'https://tenant.auth0.com' })).variable).toBe('AUTH0_DOMAIN')
  })
})

describe('error messages', () => {
  it('match the documented shape', () => {
    expect(configError(() => parseNodeConfig({ OPTIMUM_MESH_MIN: 'abc' })).message).toBe(
      'OPTIMUM_MESH_MIN="abc" is invalid: expected an integer from 1 to 1000')
    expect(configError(() => parseNodeConfig({ NODE_MODE: 'Rlnc' })).message).toBe(
      'NODE_MODE="Rlnc" is invalid: expected one of optimum, gossipsub')
    expect(configError(() => parseNodeConfig({ OPTIMUM_THRESHOLD: '1.5' })).message).toBe(
      'OPTIMUM_THRESHOLD="1.5" is invalid: expected a number from 0 to 1')
  })

  it('stay on one line whatever the value holds, and cut very long values', () => {
    const err = configError(() => parseNodeConfig({ NODE_MODE: 'a\nb\r\nc\u2028d"e' }))
    expectOneLine(err.message)
    expect(err.message).toContain('NODE_MODE="a\\nb\\r\\nc\\u2028d\\"e"')
    const long = configError(() => parseNodeConfig({ CLUSTER_ID: 'x'.repeat(5000) })).message
    expect(long.length).toBeLessThan(600)
    expect(long).toContain('…"')
    expectOneLine(new ConfigError('two\nlines').message)
  })

  it('never print a Redis password', () => {
    const err = configError(() => parseProxyConfig({ ...PROXY_BASE, REDIS_URL: 'http://user:s3cret@redis:6379' }))
    expect(err.message).not.toContain('s3cret')
    expect(err.message).toContain('REDIS_URL="http://user:***@redis:6379" is invalid')
    expect(configError(() => parseProxyConfig({ ...PROXY_BASE, REDIS_URL: 'redis://:s3cret@' })).message).not.toContain('s3cret')
  })
})

// ---------------------------------------------------------------- .env

describe('readEnv', () => {
  const dirs: string[] = []
  const tempDir = (dotenv?: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'optimum-config-'))
    dirs.push(dir)
    if (dotenv !== undefined) writeFileSync(join(dir, '.env'), dotenv)
    return dir
  }
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('returns the process environment when there is no .env', () => {
    expect(readEnv({ cwd: tempDir(), processEnv: { A: '1', B: undefined } })).toEqual({ A: '1' })
  })

  it('reads .env under the process environment: real variables win, even empty ones', () => {
    const dir = tempDir('# comment\nAPI_PORT=9191\nexport LOG_LEVEL=debug\nNODE_MODE="gossipsub" # quoted, commented\nSIDECAR_PORT=1\n\nCLUSTER_ID=\n')
    const env = readEnv({ cwd: dir, processEnv: { SIDECAR_PORT: '33299', CLUSTER_ID: 'from-env', LOG_LEVEL: '' } })
    expect(env).toMatchObject({ API_PORT: '9191', NODE_MODE: 'gossipsub', SIDECAR_PORT: '33299', CLUSTER_ID: 'from-env', LOG_LEVEL: '' })
    expect(parseNodeConfig(env)).toMatchObject({ apiPort: 9191, mode: 'gossipsub', sidecarPort: 33299, clusterId: 'from-env', logLevel: 'info' })
  })

  it('reads process.env and cwd by default, and never changes process.env', () => {
    const before = { ...process.env }
    const dir = tempDir('OPTIMUM_CONFIG_TEST_ONLY=from-file\n')
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      const env = readEnv()
      expect(env.OPTIMUM_CONFIG_TEST_ONLY).toBe('from-file')
      expect(env.PATH).toBe(process.env.PATH)
    } finally {
      process.chdir(cwd)
    }
    expect(process.env).toEqual(before)
  })

  it('takes multi-line quoted values and quoted # characters', () => {
    const env = readEnv({ cwd: tempDir('BOOTSTRAP_PEERS="a,\nb"\nREDIS_PREFIX=\'x#y\'\n'), processEnv: {} })
    expect(env).toEqual({ BOOTSTRAP_PEERS: 'a,\nb', REDIS_PREFIX: 'x#y' })
  })

  it.each([
    ['a line without =', 'API_PORT=1\nNODE_MODE optimum\n', 2, 'expected KEY=value'],
    ['a bad key', 'API PORT=1\n', 1, 'expected KEY=value'],
    ['an unclosed quote', 'LOG_LEVEL=info\nCLUSTER_ID="abc\nAPI_PORT=1\n', 2, 'the " quote of CLUSTER_ID is never closed'],
    ['text after a closing quote', "CLUSTER_ID='a'b\n", 1, "text after the closing ' quote of CLUSTER_ID"],
  ])('reports %s in .env as a one-line ConfigError with the line number', (_what, source, line, reason) => {
    const dir = tempDir(source)
    const err = configError(() => readEnv({ cwd: dir, processEnv: {} }))
    expectOneLine(err.message)
    expect(err.message).toContain(`${join(dir, '.env')} line ${line} is malformed: ${reason}`)
  })

  it('reports a .env it cannot read', () => {
    const dir = tempDir()
    mkdirSync(join(dir, '.env'))
    expect(configError(() => readEnv({ cwd: dir, processEnv: {} })).message).toContain('.env cannot be read')
  })
})

// ---------------------------------------------------------------- loadConfigOrExit

describe('loadConfigOrExit', () => {
  /** Runs `code` (an ES module body with `m` = common/config) in a fresh node with tsx. */
  function run(code: string, cwd = ROOT) {
    const script = `const m = await import(${JSON.stringify(pathToFileURL(CONFIG_INDEX).href)});\n${code}`
    const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/esm/index.mjs')).href
    return spawnSync(process.execPath, ['--import', tsx, '--input-type=module', '-e', script], {
      cwd,
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    })
  }

  it('prints the one line to stderr and exits with code 2', () => {
    const result = run(`m.loadConfigOrExit(m.parseNodeConfig, { OPTIMUM_MESH_MIN: 'abc' }); console.log('not reached')`)
    expect(result.error).toBeUndefined()
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('OPTIMUM_MESH_MIN="abc" is invalid: expected an integer from 1 to 1000\n')
  })

  it('reads .env by default, and a malformed one also exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'optimum-config-exit-'))
    try {
      writeFileSync(join(dir, '.env'), 'NODE_MODE=bogus\n')
      const bad = run('m.loadConfigOrExit(m.parseNodeConfig)', dir)
      expect(bad.status).toBe(2)
      expect(bad.stderr).toBe(`NODE_MODE="bogus" is invalid: expected ${accepted('NODE_MODE')}\n`)

      writeFileSync(join(dir, '.env'), 'NODE_MODE gossipsub\n')
      const malformed = run('m.loadConfigOrExit(m.parseNodeConfig)', dir)
      expect(malformed.status).toBe(2)
      expect(malformed.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(malformed.stderr).toContain('line 1 is malformed')

      writeFileSync(join(dir, '.env'), 'NODE_MODE=gossipsub\n')
      const good = run('console.log(m.loadConfigOrExit(m.parseNodeConfig).mode)', dir)
      expect(good.status).toBe(0)
      expect(good.stdout).toBe('gossipsub\n')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('returns the config, and lets other errors through', () => {
    expect(loadConfigOrExit(parseNodeConfig, {}).mode).toBe('optimum')
    expect(() => loadConfigOrExit(() => { throw new TypeError('boom') }, {})).toThrow(TypeError)
  })
})

// ---------------------------------------------------------------- documentation

describe('documentation', () => {
  const example = readFileSync(join(ROOT, '.env.example'), 'utf8')

  it('.env.example sets every variable to its default, plus BOOTSTRAP_PEER_ID', () => {
    const parsed = parseDotenv(example)
    for (const v of ENV_VARS) expect(parsed[v.name], v.name).toBe(v.default)
    expect(Object.keys(parsed).sort()).toEqual(['BOOTSTRAP_PEER_ID', ...ENV_VARS.map((v) => v.name)].sort())
    for (const v of ENV_VARS) expect(example, `comment above ${v.name}`).toMatch(new RegExp(`^# .+\\n${v.name}=`, 'm'))
  })

  it('.env.example parses to the defaults', () => {
    const parsed = parseDotenv(example)
    expect(parseNodeConfig(parsed)).toEqual(parseNodeConfig({}))
    expect(parseProxyConfig({ ...parsed, ...PROXY_BASE })).toEqual(parseProxyConfig(PROXY_BASE))
  })

  it('common/config/README.md holds the table made from ENV_VARS', () => {
    const readme = readFileSync(join(ROOT, 'common/config/README.md'), 'utf8')
    expect(readme).toContain(renderEnvTable())
    for (const v of ENV_VARS) expect(renderEnvTable()).toContain(`| \`${v.name}\` |`)
  })

  it('lists each variable once, with the published defaults', () => {
    const names = ENV_VARS.map((v) => v.name)
    expect(new Set(names).size).toBe(names.length)
    const defaults = Object.fromEntries(ENV_VARS.map((v) => [v.name, v.default]))
    expect(defaults).toMatchObject({
      SIDECAR_PORT: '33212', API_PORT: '9090', OPTIMUM_PORT: '7070', GOSSIPSUB_PORT: '6060',
      OPTIMUM_MAX_MSG_SIZE: '1048576', GOSSIPSUB_MAX_MSG_SIZE: '1048576',
      OPTIMUM_MESH_MIN: '3', OPTIMUM_MESH_TARGET: '6', OPTIMUM_MESH_MAX: '12',
      OPTIMUM_SHARD_FACTOR: '4', OPTIMUM_SHARD_MULT: '1.5', OPTIMUM_THRESHOLD: '0.75',
      NODE_MODE: 'optimum', ENABLE_AUTH: 'false', PROXY_PORT: '8080', PROXY_GRPC_PORT: '50051',
    })
  })
})
