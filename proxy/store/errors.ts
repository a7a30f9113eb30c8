import { OptimumError } from '../../common/errors.js'

/** Redis could not be reached or answered with an error: the edges answer 503 / UNAVAILABLE. */
export class StoreUnavailableError extends OptimumError {
  constructor(operation: string, cause: unknown) {
    super('unavailable', `state store unavailable during ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'StoreUnavailableError'
  }
}
