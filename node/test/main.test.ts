import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

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
})
