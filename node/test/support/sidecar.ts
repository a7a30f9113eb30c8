import { silentLogger } from '../../../common/logger.js'
import { NodeMetrics } from '../../metrics.js'
import type { SidecarServerOptions } from '../../sidecar/server.js'
import { MemoryEngine } from './memory-engine.js'

/** Metrics of a node with no peers and no traffic. */
export function idleMetrics(): NodeMetrics {
  return new NodeMetrics({ peerCount: () => 0, meshSizes: () => new Map(), transfer: () => ({ sent: 0, received: 0 }) })
}

/** Options for a sidecar over a MemoryEngine on 127.0.0.1, any free port; `overrides` win. */
export function testSidecarOptions(overrides: Partial<SidecarServerOptions> = {}): SidecarServerOptions {
  return {
    engine: new MemoryEngine(),
    metrics: idleMetrics(),
    log: silentLogger,
    host: '127.0.0.1',
    port: 0,
    queueSize: 64,
    queueBytes: 64 * 1024 * 1024,
    maxMessageSize: 1024 * 1024,
    health: async () => ({ cpuUsed: 0, memoryUsed: 0, diskUsed: 0 }),
    ...overrides,
  }
}
