/**
 * Which Redis the proxies use: REDIS_URL when it is set, else a private
 * redis-server from PATH with its data in the stack's state folder, else a
 * one-line refusal that says how to get one.
 */
import { accessSync, constants, readFileSync } from 'node:fs'
import { connect } from 'node:net'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { ServiceSpec } from './service-process.js'

export type RedisChoice =
  | { kind: 'external'; url: string; host: string; port: number }
  | { kind: 'private'; url: string; host: string; port: number; binary: string; dir: string }

export const NO_REDIS =
  'the proxies need Redis: install redis-server (apt-get install redis-server, brew install redis) so the launcher can start a private one, ' +
  'or set REDIS_URL=redis://host:6379 (shell or .env), or start with --proxies 0'

export function chooseRedis(env: NodeJS.ProcessEnv, host: string, port: number, dir: string): RedisChoice | undefined {
  const url = env.REDIS_URL?.trim()
  if (url) {
    const parsed = new URL(url)
    return { kind: 'external', url, host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(parsed.port || 6379) }
  }
  const binary = findOnPath('redis-server', env.PATH ?? '')
  if (binary === undefined) return undefined
  const urlHost = host.includes(':') ? `[${host}]` : host
  return { kind: 'private', url: `redis://${urlHost}:${port}`, host, port, binary, dir }
}

export function findOnPath(program: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue
    const candidate = path.join(dir, program)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

export function privateRedisSpec(redis: Extract<RedisChoice, { kind: 'private' }>, env: NodeJS.ProcessEnv): ServiceSpec {
  return {
    name: 'redis',
    command: redis.binary,
    // Snapshots in the state folder keep subscriptions and cursors across restarts of the stack.
    args: ['--bind', redis.host, '--port', String(redis.port), '--dir', redis.dir, '--pidfile', pidFile(redis.dir),
      '--save', '60 1', '--appendonly', 'no', '--loglevel', 'warning'],
    env,
    cwd: redis.dir,
    ipc: false,
  }
}

function pidFile(dir: string): string {
  return path.join(dir, 'redis.pid')
}

/**
 * A private redis-server that a launcher killed with SIGKILL left running
 * (nothing could stop it then): found by its pid file, and only when that pid
 * is still a redis-server. Returns its pid, or undefined.
 */
export function staleRedisPid(dir: string): number | undefined {
  let pid: number
  try {
    pid = Number(readFileSync(pidFile(dir), 'utf8').trim())
    if (!Number.isInteger(pid) || pid <= 1) return undefined
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes('redis-server') ? pid : undefined
  } catch {
    return undefined
  }
}

/** True when something accepts a TCP connection at host:port and, if `ping`, answers a Redis PING. */
export function answers(host: string, port: number, ping: boolean, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const finish = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('error', () => finish(false))
    socket.once('connect', () => (ping ? socket.write('PING\r\n') : finish(true)))
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG')))
  })
}

/** Until the private Redis answers PING; false after `timeoutMs` or once `gone` resolves. */
export async function waitForRedis(host: string, port: number, timeoutMs: number, gone: Promise<unknown>): Promise<boolean> {
  let exited = false
  void gone.then(() => (exited = true))
  const deadline = Date.now() + timeoutMs
  while (!exited && Date.now() < deadline) {
    if (await answers(host, port, true)) return true
    await delay(100)
  }
  return false
}
