/** Retry delays (reconnect loops of any part): doubling from `initialMs`, capped at `maxMs`, with full jitter in the upper half. */
export interface BackoffPolicy {
  initialMs: number
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 100, maxMs: 5_000 }

/**
 * The delay before reconnect attempt `attempt` (0 = the first retry). The
 * jitter keeps replicas that lost the same node at the same moment from
 * redialling it in lock-step.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
