/**
 * Errors that cross a module boundary carry a code and a human sentence. The
 * edges (gRPC, HTTP) map the code to a status in one table each; nothing else
 * inspects messages.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'too_large'
  | 'not_found'
  | 'already_exists'
  | 'unauthenticated'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'unavailable'
  | 'internal'

export class OptimumError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'OptimumError'
  }
}

export function isOptimumError(err: unknown): err is OptimumError {
  return err instanceof OptimumError
}
