/**
 * One child process of the stack: started in its own process group (so a
 * terminal's Ctrl-C reaches only the launcher, which then stops the children
 * in order), its output prefixed line by line, its end described in words.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { formatLogLine } from './log-format.js'
import type { Output } from './output.js'

const ERROR_LEVEL = 50
/** stderr lines kept to explain an exit (a start-up refusal or the top of a stack trace). */
const STDERR_TAIL = 40

export interface ServiceSpec {
  name: string
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
  cwd: string
  /** Open an IPC channel: a TypeScript service imports parent-guard.ts, which stops it when the channel closes. */
  ipc: boolean
}

export class ServiceProcess {
  readonly name: string
  /** Resolves with how the process ended ("exit code 1", "killed by SIGKILL"). */
  readonly exited: Promise<string>
  private readonly child: ChildProcess
  private ended: string | undefined
  private readonly stderrTail: string[] = []
  private lastError = ''

  constructor(spec: ServiceSpec, output: Output) {
    this.name = spec.name
    this.child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', ...(spec.ipc ? (['ipc'] as const) : [])],
    })
    const show = (stream: NodeJS.ReadableStream, isStderr: boolean) => {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (raw) => {
        if (raw.trim() === '') return
        const line = formatLogLine(raw)
        if (isStderr) this.keepStderr(raw)
        if ((line.level ?? 0) >= ERROR_LEVEL && line.msg) this.lastError = line.text
        output.line(spec.name, line.text)
      })
    }
    show(this.child.stdout!, false)
    show(this.child.stderr!, true)
    this.exited = new Promise((resolve) => {
      const done = (how: string) => {
        if (this.ended !== undefined) return
        this.ended = how
        resolve(how)
      }
      this.child.once('error', (err) => done(`could not start: ${err.message}`))
      // 'close' comes after the output has been read to its end, so why() can quote the last line.
      this.child.once('close', (code, signal) => done(signal ? `killed by ${signal}` : `exit code ${code}`))
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  get running(): boolean {
    return this.ended === undefined
  }

  /** How it ended and what it said about it: the error line of its last stderr output (not a stack frame), else its last error log. */
  why(): string {
    const headlines = this.stderrTail.filter((line) => !/^\s/.test(line) && !/^\^+$/.test(line.trim()))
    const said = headlines.find((line) => /error/i.test(line)) ?? headlines[0] ?? this.lastError
    return `${this.ended ?? 'still running'}${said ? `: ${said}` : ''}`
  }

  private keepStderr(line: string): void {
    this.stderrTail.push(line)
    if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift()
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return
    this.signal('SIGTERM')
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs)
    await this.exited
    clearTimeout(timer)
  }

  /** For process 'exit', where nothing asynchronous runs any more. */
  killNow(): void {
    if (this.running) this.signal('SIGKILL')
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal)
    } catch {
      // already gone
    }
  }
}
