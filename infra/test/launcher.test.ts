/**
 * The launcher end to end: real node processes on loopback, started in a
 * scratch directory with a port offset so nothing collides with a running
 * stack. Stops, crashes and a killed launcher must leave no process behind.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { allGone, freeOffset, launch, type Launch, type LaunchOptions } from './support/launcher.js'

const PROXY_BUILT = existsSync(fileURLToPath(new URL('../../proxy/main.ts', import.meta.url)))
const READY = /^ready: /

const running: Launch[] = []
afterEach(() => {
  for (const run of running.splice(0)) run.cleanup()
})

/** Starts the launcher; a port another test (or a service of the machine) holds makes it retry with another offset. */
async function started(flags: string[], options: LaunchOptions = {}): Promise<Launch> {
  for (let attempt = 0; ; attempt++) {
    const run = launch(flags, options)
    running.push(run)
    try {
      await run.waitFor(READY, 90_000)
      return run
    } catch (err) {
      if (attempt < 3 && /already in use/.test(run.stderr())) continue
      throw err
    }
  }
}

async function nodeState(port: number): Promise<{ pub_key: string; peers: string[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/node-state`)
  return (await response.json()) as { pub_key: string; peers: string[] }
}

describe('npm start (infra/launcher)', () => {
  it('starts a connected network, prints its endpoints and ready, and Ctrl-C stops every process', async () => {
    const run = await started(['--nodes', '3', '--proxies', '0', '--mode', 'gossipsub'])
    const apiPorts = [1, 2, 3].map((i) => 9090 + i + run.offset)
    for (const port of apiPorts) expect(run.stdout()).toContain(`http://127.0.0.1:${port}`)
    const states = await Promise.all(apiPorts.map(nodeState))
    for (const state of states) expect(state.peers.length).toBeGreaterThanOrEqual(2)
    // Node 1 runs the bootstrap identity the launcher created in ./identity, and the table names it.
    expect(run.stdout()).toMatch(new RegExp(`bootstrap identity identity/p2p.key created: ${states[0]!.pub_key}`))
    expect(run.stdout()).toContain(`/tcp/${6061 + run.offset}/p2p/${states[0]!.pub_key}`)
    expect(existsSync(path.join(run.dir, 'identity', 'p2p.key'))).toBe(true)
    // Log lines are prefixed with the service that wrote them.
    expect(run.stdout()).toMatch(/^stack\s+\| /m)

    const pids = run.pids()
    expect([...pids.keys()].sort()).toEqual(['node-1', 'node-2', 'node-3'])
    run.child.kill('SIGINT')
    expect(await run.exited).toBe(0)
    expect(run.stdout()).toMatch(/SIGINT: stopping the stack/)
    expect(await allGone(pids.values())).toBe(true)
    await expect(fetch(`http://127.0.0.1:${apiPorts[0]}/api/v1/health`)).rejects.toThrow()
  }, 120_000)

  it('keeps the bootstrap peer id across restarts, and honours .env', async () => {
    const first = await started(['--nodes', '1', '--proxies', '0', '--mode', 'gossipsub'])
    const id = (await nodeState(9091 + first.offset)).pub_key
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    writeFileSync(path.join(first.dir, '.env'), 'NODE_MODE=gossipsub\n')
    const again = launch(['--nodes', '1', '--proxies', '0'], { dir: first.dir, offset: first.offset })
    running.push(again)
    expect(await again.waitFor(READY)).toMatch(/^ready: 1 gossipsub node\(s\)/)
    expect(again.stdout()).toContain(`bootstrap identity identity/p2p.key loaded: ${id}`)
    again.child.kill('SIGINT')
    expect(await again.exited).toBe(0)
  }, 120_000)

  it('says which service crashed and why, and stops the rest', async () => {
    const run = await started(['--nodes', '2', '--proxies', '0', '--mode', 'gossipsub'])
    const pids = run.pids()
    process.kill(pids.get('node-2')!, 'SIGKILL')
    expect(await run.exited).toBe(1)
    expect(run.stdout()).toMatch(/node-2 exited \(killed by SIGKILL\): stopping the stack/)
    expect(await allGone(pids.values())).toBe(true)
  }, 120_000)

  it('leaves no node behind when the launcher itself is killed', async () => {
    const run = await started(['--nodes', '2', '--proxies', '0', '--mode', 'gossipsub'])
    const pids = run.pids()
    run.child.kill('SIGKILL')
    await run.exited
    expect(await allGone(pids.values())).toBe(true)
  }, 120_000)

  it('stops everything when the shell that npm start runs it in is killed', async () => {
    const run = await started(['--nodes', '2', '--proxies', '0', '--mode', 'gossipsub'], { viaShell: true })
    const pids = run.pids()
    run.child.kill('SIGKILL')
    expect(await allGone(pids.values(), 30_000)).toBe(true)
    await run.waitFor(/the parent process exited: stopping the stack/)
  }, 120_000)

  it('names a taken port in one line before starting anything', async () => {
    // Every other port of the stack is free, so the one taken below is the one the launcher names.
    const offset = await freeOffset({ nodes: 2, proxies: 0, mode: 'gossipsub' })
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(9092 + offset, '127.0.0.1', resolve))
    try {
      const run = launch(['--nodes', '2', '--proxies', '0', '--mode', 'gossipsub'], { offset })
      running.push(run)
      expect(await run.exited).toBe(1)
      expect(run.stderr()).toBe(
        `npm start: port ${9092 + offset} (node-2 API) is already in use on 127.0.0.1: stop what holds it (another npm start or docker compose?) or start with --port-offset 100\n`,
      )
      expect(run.stdout()).not.toMatch(/node-\d/)
    } finally {
      blocker.close()
    }
  }, 60_000)

  it('refuses bad flags and bad settings with one line', async () => {
    const badMode = launch(['--mode', 'flood'])
    const badEnv = launch(['--proxies', '0', '--mode', 'gossipsub'], { env: { GOSSIPSUB_MESH_MIN: 'abc' } })
    running.push(badMode, badEnv)
    expect(await badMode.exited).toBe(2)
    expect(badMode.stderr()).toBe('npm start: -mode "flood": expected one of optimum, gossipsub\n')
    expect(await badEnv.exited).toBe(1)
    expect(badEnv.stderr()).toBe('npm start: GOSSIPSUB_MESH_MIN="abc" is invalid: expected an integer from 1 to 1000\n')
  }, 60_000)

  it.runIf(PROXY_BUILT)('says how to get Redis when there is none, and when REDIS_URL does not answer', async () => {
    const none = launch(['--nodes', '1', '--proxies', '1', '--mode', 'gossipsub'], { env: { PATH: '/nonexistent' } })
    const deaf = launch(['--nodes', '1', '--proxies', '1', '--mode', 'gossipsub'], { env: { REDIS_URL: 'redis://127.0.0.1:1' } })
    running.push(none, deaf)
    expect(await none.exited).toBe(1)
    expect(none.stderr()).toMatch(/^npm start: the proxies need Redis: install redis-server .* or start with --proxies 0\n$/)
    expect(await deaf.exited).toBe(1)
    expect(deaf.stderr()).toBe('npm start: REDIS_URL=redis://127.0.0.1:1 does not answer: start that Redis, or unset REDIS_URL to let the launcher run a private one\n')
    expect(none.stdout() + deaf.stdout()).not.toMatch(/node-1 \|/)
  }, 60_000)

  it.runIf(PROXY_BUILT)('starts proxies on a private Redis and waits for their health', async () => {
    const run = await started(['--nodes', '2', '--proxies', '1', '--mode', 'gossipsub'], { env: { REDIS_PREFIX: `stack-test-${process.pid}:` } })
    const health = await (await fetch(`http://127.0.0.1:${8081 + run.offset}/api/v1/health`)).json()
    expect(health).toMatchObject({ status: 'ok' })
    expect(run.stdout()).toMatch(/^redis\s+\d+\s+redis:\/\/127\.0\.0\.1:\d+\s+private, data in \.stack\/redis/m)
    const pids = run.pids()
    expect(pids.has('redis')).toBe(true)
    run.child.kill('SIGINT')
    expect(await run.exited).toBe(0)
    expect(await allGone(pids.values())).toBe(true)
  }, 120_000)
})
