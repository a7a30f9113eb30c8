import type { ErrorCode } from '../../common/errors.js'

/** The one table from OptimumError codes to HTTP statuses, for every route of the proxy. */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  too_large: 413,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503,
}
