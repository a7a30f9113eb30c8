/**
 * A private `redis-server` for tests that must stop and restart Redis or run
 * a Redis Cluster: free port, temp dir, torn down after. `redisServerPath`
 * is undefined where redis-server is not installed (such tests skip).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' })
  return found.status === 0 ? found.stdout.trim() : undefined
}

export const redisServerPath = which('redis-server')
export const redisCliPath = which('redis-cli')

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } finally {
    client.disconnect()
  }
}

export class RedisServer {
  private process: ChildProcess | undefined

  private constructor(readonly port: number, readonly dir: string, private readonly args: string[]) {}

  /** Starts with AOF fsync'd on every write, so a SIGKILL loses nothing (a crash, not a flush). */
  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    if (!redisServerPath) throw new Error('redis-server is not installed')
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'proxy-redis-')),
      ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '', ...extraArgs])
    await server.restart()
    return server
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Kill -9: the closest a test gets to Redis crashing. */
  async kill(): Promise<void> {
    const child = this.process
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    this.process = undefined
  }

  async restart(): Promise<void> {
    await this.kill()
    this.process = spawn(redisServerPath!, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, ...this.args], { stdio: 'ignore' })
    await waitFor(`redis-server on ${this.port}`, async () => ((await ping(this.port)) ? true : undefined))
  }

  async stop(): Promise<void> {
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
