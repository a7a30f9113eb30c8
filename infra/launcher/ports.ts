/** Before anything starts: the first port of the stack that something else already holds. */
import { createServer } from 'node:net'
import type { PortUse } from './plan.js'

export async function firstTakenPort(uses: readonly PortUse[], host: string): Promise<PortUse | undefined> {
  for (const use of uses) if (!(await canListen(use.port, host))) return use
  return undefined
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}
