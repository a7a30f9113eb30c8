import { OptimumError } from '../../common/errors.js'

/** The limits a client's token carries (claim names as Auth0 issues them). */
export type LimitName = 'max_publish_per_sec' | 'max_publish_per_hour' | 'max_message_size' | 'daily_quota'

/**
 * A publish refused by one of the client's limits: 429 (rates, quota) or 413
 * (size). `limit` names the claim; `retryAfterSeconds` is when the window that
 * refused it ends (the edges send it as `Retry-After`).
 */
export class LimitExceededError extends OptimumError {
  constructor(
    readonly limit: LimitName,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(limit === 'max_message_size' ? 'too_large' : 'resource_exhausted', message)
    this.name = 'LimitExceededError'
  }
}

/** The `Retry-After` of an error, when it has one. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof LimitExceededError ? err.retryAfterSeconds : undefined
}
