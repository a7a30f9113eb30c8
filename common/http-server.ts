import type http from 'node:http'

/** Listens on host:port; rejects (e.g. EADDRINUSE) without leaving the server listening. */
export function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Stops accepting, closes idle keep-alive connections at once, and after
 * `graceMs` destroys whatever is still open; resolves when the port is free.
 */
export async function closeGracefully(server: http.Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const force = setTimeout(() => server.closeAllConnections(), graceMs)
  try {
    await closed
  } finally {
    clearTimeout(force)
  }
}
