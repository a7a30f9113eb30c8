import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { Registry } from 'prom-client'
import { parseNodeConfig } from '../../../common/config/index.js'
import { createLogger, silentLogger } from '../../../common/logger.js'
import { loadKernel } from '../../../common/rlnc/index.js'
import { ByteCounter } from '../../host/byte-counter.js'
import { ClusterHandshake } from '../../host/handshake.js'
import { createHost } from '../../host/libp2p.js'
import { startOptimum, type CoreFactory, type OptimumService } from '../../optimum/service.js'

export interface TestHost {
  node: Libp2p
  handshake: ClusterHandshake
  /** Absent for a host that only speaks the handshake (an attacker, a foreign node). */
  optimum?: OptimumService
  registry: Registry
  addr: string
  stop(): Promise<void>
}

export interface TestHostOptions {
  clusterId?: string
  /** Runs optimum mode with this core; without it the host only passes the handshake. */
  createCore?: CoreFactory
  env?: Record<string, string>
  handshakeTimeoutMs?: number
  /** Skip the cluster handshake altogether (a peer of some other software). */
  noHandshake?: boolean
}

/** A libp2p host on 127.0.0.1 with the cluster handshake, and optimum mode over `createCore` when given. */
export async function startTestHost(options: TestHostOptions = {}): Promise<TestHost> {
  const config = parseNodeConfig({ LISTEN_HOST: '127.0.0.1', OPTIMUM_PORT: '0', LOG_LEVEL: 'silent', ...options.env })
  let handshake: ClusterHandshake | undefined
  const node = await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    listenHost: '127.0.0.1',
    port: 0,
    services: {},
    bytes: new ByteCounter(),
    denyPeer: (peer) => handshake?.rejected.has(peer) ?? false,
  })
  // TEST_LOG=debug shows what the hosts do
  const log = process.env.TEST_LOG ? createLogger('test-host', process.env.TEST_LOG as 'debug') : silentLogger
  handshake = new ClusterHandshake({ node, clusterId: options.clusterId ?? '', log, timeoutMs: options.handshakeTimeoutMs })
  if (!options.noHandshake) await handshake.start()
  const registry = new Registry()
  const optimum = options.createCore
    ? await startOptimum({
        node,
        key: (node as unknown as { components: { privateKey: Parameters<typeof startOptimum>[0]['key'] } }).components.privateKey,
        handshake,
        config: config.optimum,
        kernel: await loadKernel(),
        registry,
        log,
        createCore: options.createCore,
      })
    : undefined
  await node.start()
  return {
    node,
    handshake,
    optimum,
    registry,
    addr: node.getMultiaddrs()[0]!.toString(),
    async stop() {
      await optimum?.stop()
      if (!options.noHandshake) await handshake!.stop()
      await node.stop()
    },
  }
}
