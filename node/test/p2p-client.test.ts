import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { JwtVerifier } from '../../common/auth/jwt-verifier.js'
import { JwksServer, signingKey, signToken, type SigningKey } from '../../common/test/support/jwks.js'
import { SidecarAuth } from '../sidecar/auth.js'
import { SidecarServer } from '../sidecar/server.js'
import { MemoryEngine } from './support/memory-engine.js'
import { testSidecarOptions } from './support/sidecar.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLIENT_TIMEOUT = 20_000

interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Ctrl-C as a terminal sends it: SIGINT to the whole process group (npx, tsx and node). */
  interrupt(): void
}

const running: Run[] = []
const servers: SidecarServer[] = []

afterEach(async () => {
  for (const run of running.splice(0)) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      try {
        process.kill(-run.child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  await Promise.all(servers.splice(0).map((server) => server.stop(2_000)))
})

/** Runs `npx tsx node/cli/p2p-client.ts …` (or another command) in its own process group, killed at the end of the test. */
function run(command: string, args: string[]): Run {
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  )
  const handle: Run = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
  }
  running.push(handle)
  return handle
}

function p2pClient(args: string[]): Run {
  return run('npx', ['tsx', 'node/cli/p2p-client.ts', ...args])
}

/**
 * The same client without npm in between: `npm exec` (npx) ends itself by the
 * SIGINT a Ctrl-C sends the process group, whatever its child does, so the
 * client's own exit status is only visible without it.
 */
function p2pClientDirect(args: string[]): Run {
  return run(process.execPath, ['--import', 'tsx', 'node/cli/p2p-client.ts', ...args])
}

async function until(check: () => boolean, what: string, timeoutMs = CLIENT_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function exitOf(r: Run, timeoutMs = CLIENT_TIMEOUT) {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    r.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit; stdout: ${r.stdout()} stderr: ${r.stderr()}`)), timeoutMs)
    }),
  ])
  clearTimeout(timer)
  return result
}

async function startSidecar(auth?: SidecarAuth) {
  const engine = new MemoryEngine()
  const server = new SidecarServer(testSidecarOptions({ engine, queueSize: 256, ...(auth && { auth }) }))
  const port = await server.start()
  servers.push(server)
  return { server, engine, addr: `127.0.0.1:${port}` }
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '')

describe('p2p client CLI', () => {
  it('subscribes, receives what a -count publish sends, and prints the total on Ctrl-C', async () => {
    const { server, engine, addr } = await startSidecar()
    const sub = p2pClientDirect(['-mode=subscribe', '-topic=cli-topic', `--addr=${addr}`, '-keepalive-interval=10s'])
    await until(() => sub.stdout().includes('\n'), 'the subscribe line')
    expect(lines(sub.stdout())[0]).toBe('Subscribed to topic "cli-topic", waiting for messages…')
    await until(() => server.streamStats().some((s) => s.topics.includes('cli-topic')), 'the subscription on the node')

    const pub = p2pClient(['-mode', 'publish', '-topic', 'cli-topic', '-msg=random', '-count=3', '-sleep=10ms', '--addr', addr])
    expect(await exitOf(pub)).toEqual({ code: 0, signal: null })
    const published = lines(pub.stdout())
    expect(published).toHaveLength(3)
    for (const line of published) expect(line).toMatch(/^Published "random-\d-[0-9a-f]{8}" to "cli-topic"$/)
    // flushed: the node had taken all three when the publisher exited
    expect(engine.published).toHaveLength(3)

    await until(() => lines(sub.stdout()).length === 4, 'three received lines')
    const texts = published.map((line) => /^Published "(.*)" to/.exec(line)![1])
    expect(lines(sub.stdout()).slice(1)).toEqual(texts.map((text, i) => `[${i + 1}] Received message: "${text}"`))

    sub.interrupt()
    expect(await exitOf(sub)).toEqual({ code: 0, signal: null })
    expect(lines(sub.stdout()).at(-1)).toBe('Total messages received: 3')
    await until(() => engine.count('unsubscribe', 'cli-topic') === 1, 'the node to release the topic')
  })

  it('publishes one message as given, quoted like Go %q', async () => {
    const { engine, addr } = await startSidecar()
    const pub = p2pClient(['-mode=publish', '-topic=t', '-msg=random', `-addr=${addr}`])
    expect(await exitOf(pub)).toEqual({ code: 0, signal: null })
    expect(lines(pub.stdout())).toEqual(['Published "random" to "t"'])

    const odd = p2pClient(['-mode=publish', '-topic=t', '-msg=tab\there "q" é\u0001', `-addr=${addr}`])
    expect(await exitOf(odd)).toEqual({ code: 0, signal: null })
    expect(lines(odd.stdout())).toEqual(['Published "tab\\there \\"q\\" é\\x01" to "t"'])
    expect(engine.published.map((p) => Buffer.from(p.data).toString())).toEqual(['random', 'tab\there "q" é\u0001'])
  })

  it('numbers distinct messages "<msg> <i>" when -count > 1', async () => {
    const { engine, addr } = await startSidecar()
    const pub = p2pClient(['-mode=publish', '-topic=t', '-msg=hello', '-count=2', `-addr=${addr}`])
    expect(await exitOf(pub)).toEqual({ code: 0, signal: null })
    expect(lines(pub.stdout())).toEqual(['Published "hello 1" to "t"', 'Published "hello 2" to "t"'])
    expect(engine.published).toHaveLength(2)
  })

  it('fails with one clear line when the sidecar is unreachable', async () => {
    const { addr, server } = await startSidecar()
    await server.stop(1_000)
    const pub = p2pClient(['-mode=publish', '-topic=t', '-msg=x', `-addr=${addr}`])
    expect((await exitOf(pub)).code).toBe(1)
    expect(lines(pub.stderr())).toEqual([expect.stringMatching(new RegExp(`^p2p-client: cannot reach the sidecar at ${addr}: .*ECONNREFUSED`))])
    expect(pub.stdout()).toBe('')
  })

  it('rejects an unknown flag with Go-style usage (exit 2) and a missing topic (exit 1)', async () => {
    const bad = p2pClient(['-nope=1'])
    expect((await exitOf(bad)).code).toBe(2)
    expect(bad.stderr()).toContain('flag provided but not defined: -nope')
    expect(bad.stderr()).toContain('Usage of p2p-client:')
    expect(bad.stderr()).toContain('  -keepalive-interval duration\n    \tgRPC keepalive ping interval (at least 10s) (default 2m0s)')

    const noTopic = p2pClient(['-mode=subscribe'])
    expect((await exitOf(noTopic)).code).toBe(1)
    expect(noTopic.stderr()).toContain('-topic is required')
  })

  it('p2p_client.sh without arguments prints the usage and exits 1', async () => {
    const script = run('bash', ['infra/scripts/p2p_client.sh'])
    expect((await exitOf(script)).code).toBe(1)
    expect(script.stderr()).toContain(
      'Usage: infra/scripts/p2p_client.sh <addr> (subscribe <topic> [keepalive-options])|(publish <topic> <message> [keepalive-options])',
    )
    expect(script.stderr()).toContain('-keepalive-interval=<duration>')
    expect(script.stdout()).toBe('')
  })

  it('exits through npx too on Ctrl-C, after printing the total', async () => {
    const { server, addr } = await startSidecar()
    const sub = p2pClient(['-topic=npx-topic', `-addr=${addr}`])
    await until(() => server.streamStats().some((s) => s.topics.includes('npx-topic')), 'the subscription on the node')
    sub.interrupt()
    await exitOf(sub)
    expect(lines(sub.stdout())).toEqual(['Subscribed to topic "npx-topic", waiting for messages…', 'Total messages received: 0'])
  })

  it('p2p_client.sh publishes through the TypeScript client, passing extra flags on', async () => {
    const { engine, addr } = await startSidecar()
    const script = run('sh', ['infra/scripts/p2p_client.sh', addr, 'publish', 'sh-topic', 'random', '-count=2', '-keepalive-timeout=10s'])
    expect(await exitOf(script)).toEqual({ code: 0, signal: null })
    expect(lines(script.stdout())).toHaveLength(2)
    expect(engine.published.map((p) => p.topic)).toEqual(['sh-topic', 'sh-topic'])
  })

  it('p2p_client.sh subscribes and exits 0 on Ctrl-C', async () => {
    const { server, engine, addr } = await startSidecar()
    const script = run('bash', ['infra/scripts/p2p_client.sh', addr, 'subscribe', 'sh-sub', '-keepalive-interval=1m'])
    await until(() => server.streamStats().some((s) => s.topics.includes('sh-sub')), 'the subscription on the node')
    engine.inject('sh-sub', Buffer.from('via script'))
    await until(() => script.stdout().includes('Received'), 'the delivery')
    script.interrupt()
    expect(await exitOf(script)).toEqual({ code: 0, signal: null })
    expect(lines(script.stdout())).toEqual([
      'Subscribed to topic "sh-sub", waiting for messages…',
      '[1] Received message: "via script"',
      'Total messages received: 1',
    ])
  })
})

describe('p2p client CLI against a node with SIDECAR_AUTH on', () => {
  const AUDIENCE = 'https://optimum.test/api'
  const jwks = new JwksServer()
  let key: SigningKey
  const token = (expiresIn = 3600) => signToken({ key, issuer: jwks.issuer, audience: AUDIENCE, claims: { sub: 'cli' }, expiresIn })
  const authSidecar = () => startSidecar(new SidecarAuth(new JwtVerifier({ jwksUrl: jwks.url, issuer: jwks.issuer, audience: AUDIENCE })))

  beforeAll(async () => {
    await jwks.start()
    key = await signingKey('cli-key')
    jwks.published = [key]
  })
  afterAll(() => jwks.stop())

  it('-jwt fills jwt_token: publishes and subscribes with a valid token, is refused (exit 1) without one', async () => {
    const { server, engine, addr } = await authSidecar()
    const expired = p2pClientDirect(['-mode=subscribe', '-topic=guarded', `-addr=${addr}`, `-jwt=${await token(-60)}`])
    expect(await exitOf(expired)).toEqual({ code: 1, signal: null })
    expect(expired.stderr()).toContain('p2p-client: node says: invalid token: expired')

    const sub = p2pClientDirect(['-mode=subscribe', '-topic=guarded', `-addr=${addr}`, `-jwt=${await token()}`])
    await until(() => server.streamStats().some((s) => s.topics.includes('guarded')), 'the subscription on the node')

    const anonymous = p2pClientDirect(['-mode=publish', '-topic=guarded', '-msg=anonymous', `-addr=${addr}`])
    expect(await exitOf(anonymous)).toEqual({ code: 1, signal: null })
    expect(anonymous.stderr()).toContain('p2p-client: node refused a message: missing jwt_token')

    const pub = p2pClientDirect(['-mode=publish', '-topic=guarded', '-msg=signed', `-addr=${addr}`, `-jwt=${await token()}`])
    expect(await exitOf(pub)).toEqual({ code: 0, signal: null })
    expect(engine.published.map((p) => Buffer.from(p.data).toString())).toEqual(['signed'])
    await until(() => lines(sub.stdout()).length === 2, 'the received line')
    expect(lines(sub.stdout())[1]).toBe('[1] Received message: "signed"')
    sub.interrupt()
    expect(await exitOf(sub)).toEqual({ code: 0, signal: null })
  })
})
