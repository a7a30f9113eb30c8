/** Runs `npm start`'s launcher as a user would, in a scratch directory, on ports no other stack uses. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { planStack, portsInUse, type StackOptions } from '../../launcher/plan.js'
import { firstTakenPort } from '../../launcher/ports.js'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const TSX = fileURLToPath(import.meta.resolve('tsx'))
const MAIN = path.join(ROOT, 'infra/launcher/main.ts')
const KILL_AFTER_MS = 120_000

export interface Launch {
  child: ChildProcess
  dir: string
  offset: number
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** Until a stdout line matches `pattern`; rejects when the launcher exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** pid per service name, from the endpoint table. */
  pids(): Map<string, number>
  cleanup(): void
}

/** A port offset that puts every service below the kernel's ephemeral range and clear of the published ports. */
function randomOffset(): number {
  return -1500 - Math.floor(Math.random() * 3000)
}

const OFFSET_TRIES = 50

/**
 * A random offset at which every port of such a stack is free now. The range
 * holds the machine's own services (PostgreSQL, NATS, RabbitMQ, a VM agent on
 * 2024…), so a blind random offset lands on one of them now and then.
 */
export async function freeOffset(stack: Pick<StackOptions, 'nodes' | 'proxies' | 'mode'>): Promise<number> {
  for (let attempt = 0; attempt < OFFSET_TRIES; attempt++) {
    const offset = randomOffset()
    const plan = planStack({ ...stack, portOffset: offset, host: '127.0.0.1' }, { bootstrapIdentity: 'identity', state: '.stack' })
    if ((await firstTakenPort(portsInUse(plan), '127.0.0.1')) === undefined) return offset
  }
  throw new Error(`no port offset with every port of the stack free in ${OFFSET_TRIES} tries`)
}

export interface LaunchOptions {
  env?: Record<string, string>
  offset?: number
  dir?: string
  /** Run it as `npm start` does, under `sh -c` (the child is then the shell). */
  viaShell?: boolean
}

export function launch(flags: string[], options: LaunchOptions = {}): Launch {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'stack-test-'))
  const offset = options.offset ?? randomOffset()
  const argv = [process.execPath, '--import', TSX, MAIN, `--port-offset=${offset}`, '--timeout=60s', ...flags]
  // `; :` keeps the shell from exec-ing node, as npm's `sh -c` does not either.
  const [command, args] = options.viaShell ? ['sh', ['-c', `${argv.map((a) => `'${a}'`).join(' ')}; :`]] : [argv[0]!, argv.slice(1)]
  const child = spawn(command, args, {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    for (const listener of listeners) listener()
  })
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()))
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer)
      for (const listener of listeners) listener()
      resolve(code)
    })
  })
  let ended = false
  void exited.then(() => (ended = true))

  return {
    child,
    dir,
    offset,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs)
        const finish = (result: string | Error) => {
          clearTimeout(timer)
          listeners.delete(check)
          if (typeof result === 'string') resolve(result)
          else reject(result)
        }
        const check = () => {
          const line = out.split('\n').find((l) => pattern.test(l))
          if (line !== undefined) finish(line)
          else if (ended) finish(new Error(`the launcher exited before a line matching ${pattern}; stdout:\n${out}\nstderr:\n${err}`))
        }
        listeners.add(check)
        check()
      })
    },
    pids() {
      const pids = new Map<string, number>()
      for (const match of out.matchAll(/^((?:node|proxy)-\d+|redis)\s+(\d+)\s/gm)) pids.set(match[1]!, Number(match[2]))
      return pids
    },
    cleanup() {
      if (!ended) child.kill('SIGKILL')
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A zombie (exited, not yet reaped by whoever inherited it) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

/** Until none of `pids` is alive; false after `timeoutMs`. */
export async function allGone(pids: Iterable<number>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  const list = [...pids]
  while (list.some(isAlive)) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 100))
  }
  return true
}
