/** What an edge knows about a request when it asks whether to serve it. */
export interface AuthRequest {
  /** The `Authorization` header / `authorization` metadata, when sent. */
  authorization?: string
  clientId: string
  /** Set on a publish: its size in bytes (the limits a token carries apply then). */
  publishBytes?: number
}

/**
 * Client authentication: every edge (REST, WebSocket, gRPC) calls `check`
 * before serving a client, and before each publish, and maps its OptimumError
 * (`unauthenticated`, `permission_denied`, `resource_exhausted`, `too_large`,
 * `unavailable`) to its status. ENABLE_AUTH=true: proxy/auth (JWTs with limits).
 */
export interface ClientAuth {
  check(request: AuthRequest): Promise<void>
}

/** ENABLE_AUTH=false: the API is open. */
export const OPEN_AUTH: ClientAuth = { check: async () => {} }
