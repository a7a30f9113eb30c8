import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { KEY_FILE_NAME, readIdentity } from '../../common/identity/key-file.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const LOCAL_TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx')
const RUN_TIMEOUT = 20_000

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command from the repository root; killed after RUN_TIMEOUT. */
function run(command: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, timeout: RUN_TIMEOUT, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null
      resolve({ code, stdout, stderr })
    })
  })
}

/** `npx tsx node/cli/keygen.ts …` (the checkout's tsx directly when installed: same program, faster start). */
function keygen(...args: string[]): Promise<Result> {
  return existsSync(LOCAL_TSX) ? run(LOCAL_TSX, ['node/cli/keygen.ts', ...args]) : run('npx', ['--yes', 'tsx', 'node/cli/keygen.ts', ...args])
}

const dirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'optimum-keygen-'))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })))
})

async function peerIdIn(dir: string): Promise<string> {
  return peerIdFromPrivateKey(await readIdentity(dir)).toString()
}

function expectSuccessOutput(result: Result): string {
  expect(result.code, result.stderr).toBe(0)
  const lines = result.stdout.trimEnd().split('\n')
  expect(lines).toHaveLength(2)
  const match = /^Peer ID: (12D3KooW\w+)$/.exec(lines[0]!)
  expect(match, result.stdout).not.toBeNull()
  const id = match![1]!
  expect(lines[1]).toContain(`BOOTSTRAP_PEER_ID=${id}`)
  expect(lines[1]).toContain('.env')
  return id
}

describe('keygen CLI', () => {
  it('writes p2p.key, prints the peer id, refuses a second run, and --force replaces', async () => {
    const dir = path.join(await tempDir(), 'identity')

    const first = await keygen('--dir', dir)
    const id = expectSuccessOutput(first)
    expect(await peerIdIn(dir)).toBe(id)
    const file = path.join(dir, KEY_FILE_NAME)
    if (process.platform !== 'win32') expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    const bytes = await fs.readFile(file)

    const second = await keygen(`-dir=${dir}`)
    expect(second.code).toBe(1)
    expect(second.stdout).toBe('')
    expect(second.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(second.stderr).toContain(`${file} already exists (peer id ${id}); pass --force to replace it`)
    expect((await fs.readFile(file)).equals(bytes)).toBe(true)

    const forced = await keygen('--dir', dir, '--force')
    const newId = expectSuccessOutput(forced)
    expect(newId).not.toBe(id)
    expect(await peerIdIn(dir)).toBe(newId)
    expect(await fs.readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('refuses to overwrite a damaged file without --force, and leaves it alone', async () => {
    const dir = await tempDir()
    const file = path.join(dir, KEY_FILE_NAME)
    await fs.writeFile(file, 'short')
    const result = await keygen('--dir', dir)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/already exists \(it is damaged: file is too short\); pass --force/)
    expect(await fs.readFile(file, 'utf8')).toBe('short')
  })

  it('defaults to ./identity relative to the working directory', async () => {
    // run from a temp working directory via the repository's tsx
    const cwd = await tempDir()
    const tsx = existsSync(LOCAL_TSX) ? [LOCAL_TSX] : ['npx', '--yes', 'tsx']
    const result = await new Promise<Result>((resolve) => {
      execFile(tsx[0]!, [...tsx.slice(1), path.join(ROOT, 'node/cli/keygen.ts')], { cwd, timeout: RUN_TIMEOUT, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      )
    })
    const id = expectSuccessOutput(result)
    expect(await peerIdIn(path.join(cwd, 'identity'))).toBe(id)
  })

  it('--help exits 0; an unknown flag or argument exits 2', async () => {
    const help = await keygen('--help')
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/-dir/)
    expect(help.stdout).toMatch(/-force/)

    const bad = await keygen('--nope')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('flag provided but not defined: -nope')

    const extra = await keygen('extra')
    expect(extra.code).toBe(2)
    expect(extra.stderr).toContain('unexpected argument: extra')
  })

  it('infra/scripts/generate_p2p_key.sh passes flags through', async () => {
    const dir = await tempDir()
    const result = await run('bash', [path.join(ROOT, 'infra/scripts/generate_p2p_key.sh'), '--dir', dir])
    const id = expectSuccessOutput(result)
    expect(await peerIdIn(dir)).toBe(id)
    const again = await run('bash', [path.join(ROOT, 'infra/scripts/generate_p2p_key.sh'), `-dir=${dir}`])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('pass --force to replace it')
  })
})
