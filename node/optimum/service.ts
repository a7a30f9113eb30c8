import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Registry } from 'prom-client'
import type { OptimumConfig } from '../../common/config/index.js'
import type { Logger } from '../../common/logger.js'
import { cryptoRandomBytes, type Kernel } from '../../common/rlnc/index.js'
import type { ClusterHandshake } from '../host/handshake.js'
import { OptimumAdapter } from './adapter.js'
import { OptimumEngine } from './engine.js'
import { OptimumMetrics } from './metrics.js'
import { libp2pSigning } from './signing.js'
import type { CoreEnv, CoreOptions, CoreOutputs, OptimumCore, TraceEvent } from './types.js'

/** How the core is made; the node passes createOptimumCore, tests may pass a stand-in. */
export type CoreFactory = (options: CoreOptions, env: CoreEnv, outputs: CoreOutputs) => OptimumCore

/** The heartbeat of gossipsub, for the same reasons: mesh repair within a second, little chatter. */
export const HEARTBEAT_MS = 1_000

export interface OptimumServiceOptions {
  node: Libp2p
  key: PrivateKey
  handshake: ClusterHandshake
  config: OptimumConfig
  kernel: Kernel
  registry: Registry
  log: Logger
  createCore: CoreFactory
  /** Where the core's trace events go besides the metrics (the node's TraceTap). */
  traces?: (event: TraceEvent) => void
}

export interface OptimumService {
  engine: OptimumEngine
  adapter: OptimumAdapter
  stop(): Promise<void>
}

/**
 * Optimum mode on a libp2p host: the core with its environment (the node's
 * key, the codec kernel, crypto randomness, a monotonic clock), the adapter that carries its frames, the engine the sidecar talks
 * to, and the metrics fed by its traces.
 */
export async function startOptimum(options: OptimumServiceOptions): Promise<OptimumService> {
  const { node, config, log } = options
  const self = node.peerId.toString()
  const metrics = new OptimumMetrics(options.registry)
  const adapter = new OptimumAdapter({
    node,
    handshake: options.handshake,
    maxMessageSize: config.maxMessageSize,
    heartbeatMs: HEARTBEAT_MS,
    maxPeers: config.mesh.max,
    log: log.child({ part: 'optimum-adapter' }),
    metrics,
  })
  const env: CoreEnv = {
    self,
    // timers and expiry on a clock that never goes back; headers carry the wall clock
    now: () => performance.now(),
    wallClock: () => Date.now(),
    random: cryptoRandomBytes,
    kernel: options.kernel,
    ...libp2pSigning(options.key),
    backlog: (peer) => adapter.backlog(peer),
    uplinkBacklog: () => adapter.uplinkBacklog(),
    addressesOf: (peer) => adapter.addressesOf(peer),
  }
  // The engine exists only after the core; deliveries cannot arrive before start() below.
  let engine: OptimumEngine | undefined
  const outputs: CoreOutputs = {
    send: (peer, rpc) => adapter.send(peer, rpc),
    deliver: (message) => engine?.deliver(message),
    disconnect: (peer, reason) => adapter.disconnect(peer, reason),
    dial: (peer) => adapter.dial(peer),
    trace: (event) => {
      metrics.trace(event)
      options.traces?.(event)
    },
  }
  const core = options.createCore(
    {
      mesh: config.mesh,
      shardFactor: config.shardFactor,
      shardMultiplier: config.shardMultiplier,
      threshold: config.threshold,
      maxMessageSize: config.maxMessageSize,
      heartbeatMs: HEARTBEAT_MS,
    },
    env,
    outputs,
  )
  metrics.attach(() => core.stats())
  engine = new OptimumEngine({ core, maxMessageSize: config.maxMessageSize, selfId: self, log: log.child({ part: 'optimum' }) })
  await adapter.start(core)
  return {
    engine,
    adapter,
    async stop() {
      await adapter.stop()
      core.stop()
    },
  }
}
