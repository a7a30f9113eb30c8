import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Starts node/main.ts with `env`; `whenStarted` runs once it logs "node started". Killed after 20 s whatever happens. */
function runNode(env: Record<string, string>, whenStarted?: (child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'node/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LISTEN_HOST: '127.0.0.1', SIDECAR_PORT: '0', API_PORT: '0', GOSSIPSUB_PORT: '0', OPTIMUM_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const run: Run = { code: null, stdout: '', stderr: '' }
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.on('data', (chunk: Buffer) => {
      const before = run.stdout
      run.stdout += chunk.toString()
      if (!before.includes('"node started"') && run.stdout.includes('"node started"')) whenStarted?.(child)
    })
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(killer)
      run.code = code
      resolve(run)
    })
  })
}

describe('node/main.ts', () => {
  it.each([
    ['gossipsub', { NODE_MODE: 'gossipsub' }],
    ['optimum (the default)', {}],
  ])('starts in %s mode and stops cleanly on SIGTERM', async (mode, env) => {
    const run = await runNode(env, (child) => child.kill('SIGTERM'))
    expect(run.code).toBe(0)
    expect(run.stdout).toContain(`"mode":"${mode.split(' ')[0]}"`)
    expect(run.stdout).toContain('"msg":"stopped"')
  }, 30_000)

  it('stops on a bad variable with one line naming it', async () => {
    const run = await runNode({ NODE_MODE: 'gossipsub', OPTIMUM_MESH_MIN: 'abc' })
    expect(run.code).toBe(2)
    expect(run.stderr.trim()).toBe('OPTIMUM_MESH_MIN="abc" is invalid: expected an integer from 1 to 1000')
  }, 30_000)

  describe('start-up failures: one line naming the variable, the value and the cause, exit 2', () => {
    let taken: Server
    let port: number
    const dir = mkdtempSync(join(tmpdir(), 'optimum-main-'))
    const notADir = join(dir, 'a-file')
    writeFileSync(notADir, 'x')

    beforeAll(async () => {
      taken = createServer()
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
      port = (taken.address() as { port: number }).port
    })
    afterAll(async () => {
      await new Promise((resolve) => taken.close(resolve))
      rmSync(dir, { recursive: true, force: true })
    })

    const expectOneLine = (run: Run, line: string) => {
      expect(run.code).toBe(2)
      expect(run.stderr).toBe(`${line}\n`)
    }

    it.each([
      ['SIDECAR_PORT', 'the sidecar'],
      ['API_PORT', 'the HTTP API'],
      ['GOSSIPSUB_PORT', 'libp2p'],
    ])('%s in use', async (name, what) => {
      const run = await runNode({ NODE_MODE: 'gossipsub', [name]: String(port) })
      expectOneLine(run, `${name}="${port}" cannot be used: ${what} cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`)
    }, 30_000)

    it('a bind host that is not an address of this machine', async () => {
      const run = await runNode({ NODE_MODE: 'gossipsub', LISTEN_HOST: '192.0.2.1' })
      expectOneLine(run, 'LISTEN_HOST="192.0.2.1" cannot be used: libp2p cannot listen on 192.0.2.1:0: no network interface of this machine has that address (EADDRNOTAVAIL)')
    }, 30_000)

    it('a bind host name that does not resolve', async () => {
      const run = await runNode({ NODE_MODE: 'gossipsub', LISTEN_HOST: 'no-such-host.invalid' })
      expect(run.code).toBe(2)
      // ENOTFOUND, or EAI_AGAIN on a machine without DNS
      expect(run.stderr).toMatch(/^LISTEN_HOST="no-such-host\.invalid" cannot be used: cannot resolve no-such-host\.invalid: .+ \((ENOTFOUND|EAI_AGAIN)\)\n$/)
    }, 30_000)

    it('an identity dir that cannot be read', async () => {
      const run = await runNode({ NODE_MODE: 'gossipsub', IDENTITY_DIR: notADir })
      expectOneLine(run, `IDENTITY_DIR="${notADir}" cannot be used: cannot read identity file ${notADir}/p2p.key: a part of the path is not a directory`)
    }, 30_000)
  })
})
