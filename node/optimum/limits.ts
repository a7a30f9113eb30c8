import type { CoreLimits } from './types.js'

/**
 * Defaults for every bound the core keeps. They are sized for a node with a
 * few dozen peers and messages up to a few MiB; a simulator or a test passes
 * smaller ones through `CoreOptions.limits`.
 */
export const DEFAULT_LIMITS: CoreLimits = {
  maxShardsPerRpc: 256,
  maxControlPerRpc: 5000,
  maxTopicsPerPeer: 1024,
  maxUndecoded: 4096,
  maxUndecodedBytes: 512 * 1024 * 1024,
  maxUndecodedPerPeer: 2048,
  maxUndecodedBytesPerPeer: 128 * 1024 * 1024,
  maxMessages: 16384,
  messageTtlMs: 60_000,
  retainMs: 5_000,
  maxRetainedBytes: 256 * 1024 * 1024,
  seenTtlMs: 120_000,
  seenMax: 200_000,
  rankUpdateMinShardBytes: 64 * 1024,
  relayFanoutMinShardBytes: 2048,
  relayFanout: 2,
  backlogBytes: 64 * 1024,
  uplinkBacklogBytes: 64 * 1024,
  maxOwedBytesPerPeer: 128 * 1024 * 1024,
  fanoutTtlMs: 60_000,
  gossipLazy: 6,
  gossipHeartbeats: 3,
  maxIHaveMessages: 1000,
  maxIWantShardsPerHeartbeat: 8192,
  maxUnknownIWantsPerHeartbeat: 256,
  pruneBackoffMs: 60_000,
  maxPeerExchange: 16,
  disconnectScore: -100,
  scoreDecay: 0.95,
}

export function resolveLimits(overrides: Partial<CoreLimits> | undefined): CoreLimits {
  return { ...DEFAULT_LIMITS, ...overrides }
}
