import { OptimumError } from '../../common/errors.js'

/** What an edge knows about a request when it asks whether to serve it. */
export interface AuthRequest {
  /** The `Authorization` header / `authorization` metadata, when sent. */
  authorization?: string
  clientId: string
}

/**
 * The seam for client authentication (Auth0 JWTs, a later issue): every edge
 * (REST, WebSocket, gRPC) calls `check` before serving a client and maps its
 * OptimumError (`unauthenticated`, `permission_denied`) to its status.
 */
export interface ClientAuth {
  check(request: AuthRequest): Promise<void>
}

/** ENABLE_AUTH=false: the API is open. */
export const OPEN_AUTH: ClientAuth = { check: async () => {} }

/** The auth for a config: open, or a clear refusal to start while JWT checking is not built. */
export function authFor(enableAuth: boolean): ClientAuth {
  if (enableAuth) throw new OptimumError('unavailable', 'ENABLE_AUTH=true is not supported by this build yet; set ENABLE_AUTH=false')
  return OPEN_AUTH
}
