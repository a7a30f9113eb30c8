import * as grpc from '@grpc/grpc-js'
import { isOptimumError, OptimumError, type ErrorCode } from './errors.js'

/**
 * The one table from OptimumError codes to gRPC status codes. Every gRPC edge
 * (the node's sidecar, the proxy's ProxyStream, the proxy's sidecar client)
 * maps through here, so a code means the same status everywhere.
 */
export const GRPC_STATUS_BY_CODE: Readonly<Record<ErrorCode, grpc.status>> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  too_large: grpc.status.RESOURCE_EXHAUSTED,
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
}

/**
 * Trailing-metadata key that carries the OptimumError code next to the gRPC
 * status, so a TypeScript peer gets the exact code back (RESOURCE_EXHAUSTED is
 * both `too_large` and `resource_exhausted`). Other clients just see the status.
 */
export const ERROR_CODE_METADATA_KEY = 'optimum-error-code'

const ERROR_CODES = new Set<string>(Object.keys(GRPC_STATUS_BY_CODE))

/** What a handler passes to its callback (unary) or `call.destroy`/`emit('error')` (streams). */
export interface GrpcStatusError extends Partial<grpc.StatusObject> {
  code: grpc.status
  details: string
  metadata: grpc.Metadata
}

/**
 * An error as a gRPC status. OptimumErrors keep their sentence as `details`;
 * anything else is an internal error whose text is not leaked to the client
 * (log it where you catch it).
 */
export function toGrpcStatus(err: unknown): GrpcStatusError {
  const code: ErrorCode = isOptimumError(err) ? err.code : 'internal'
  const details = isOptimumError(err) ? err.message : 'internal error'
  const metadata = new grpc.Metadata()
  metadata.set(ERROR_CODE_METADATA_KEY, code)
  return { code: GRPC_STATUS_BY_CODE[code], details, metadata }
}

/** gRPC statuses that arrive without our metadata (other servers, transport failures). */
const CODE_BY_GRPC_STATUS: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: 'invalid_argument',
  [grpc.status.OUT_OF_RANGE]: 'invalid_argument',
  [grpc.status.FAILED_PRECONDITION]: 'invalid_argument',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.ALREADY_EXISTS]: 'already_exists',
  [grpc.status.UNAUTHENTICATED]: 'unauthenticated',
  [grpc.status.PERMISSION_DENIED]: 'permission_denied',
  [grpc.status.RESOURCE_EXHAUSTED]: 'resource_exhausted',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.DEADLINE_EXCEEDED]: 'unavailable',
  [grpc.status.CANCELLED]: 'unavailable',
  [grpc.status.ABORTED]: 'unavailable',
}

/**
 * The reverse, for clients of a gRPC service: a failed call's error as an
 * OptimumError. Uses the `optimum-error-code` trailer when the server sent
 * one, else the status table above; unknown statuses become `internal`.
 */
export function fromGrpcError(err: Partial<grpc.ServiceError>): OptimumError {
  const sent = err.metadata?.get(ERROR_CODE_METADATA_KEY)[0]
  const code: ErrorCode =
    typeof sent === 'string' && ERROR_CODES.has(sent)
      ? (sent as ErrorCode)
      : (CODE_BY_GRPC_STATUS[err.code ?? grpc.status.UNKNOWN] ?? 'internal')
  return new OptimumError(code, err.details || err.message || 'gRPC call failed')
}
