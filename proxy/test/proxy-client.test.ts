import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, topicMeshReady, waitFor, waitForAsync, type TestCluster } from './support/cluster.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface Run {
  child: ChildProcess
  stdout(): string
  stderr(): string
  exited: Promise<number | null>
}
const running: Run[] = []

/** A command in its own process group (so SIGINT reaches the client as Ctrl-C would), killed at the end of the test. */
function run(command: string, args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const handle = { child, stdout: () => stdout, stderr: () => stderr, exited }
  running.push(handle)
  return handle
}

afterEach(() => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      try {
        process.kill(-r.child.pid!, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
})

describe('proxy-client and proxy_client.sh', () => {
  let cluster: TestCluster
  let addresses: string[]

  beforeAll(async () => {
    cluster = await startCluster('cli', 1, 2)
    const { http, grpc } = cluster.proxies[0]!.ports
    addresses = [`-proxy=http://127.0.0.1:${http}`, `-grpc=127.0.0.1:${grpc}`]
  }, 60_000)
  afterAll(async () => {
    await cluster.stop()
  })

  it('subscribes, publishes -count messages -delay apart, receives them over gRPC, and prints the total on Ctrl-C', async () => {
    const subscriber = run(process.execPath, ['--import', 'tsx', 'proxy/cli/proxy-client.ts', '-subscribeOnly', '-topic=cli', '-threshold=0.5', '-client-id=cli-sub', ...addresses])
    await waitFor('subscribed', () => subscriber.stdout().includes('Subscribed to topic "cli" (threshold 0.5) as cli-sub'), 20_000)
    await topicMeshReady(cluster.nodes, 'cli')
    const publisher = run(process.execPath, ['--import', 'tsx', 'proxy/cli/proxy-client.ts', '-topic=cli', '-count=3', '-delay=50ms', '-keepalive-interval=10s', ...addresses])
    await waitFor('3 deliveries', () => (subscriber.stdout().match(/Received message/g) ?? []).length === 3, 20_000)
    await waitFor('publisher got its own messages', () => publisher.stdout().includes('[3] Received message: "cli message 3 at '), 20_000)
    expect(publisher.stdout()).toMatch(/Published "cli message 1 at [^"]+" to "cli" \(message_id \w+\)/)
    process.kill(-subscriber.child.pid!, 'SIGINT')
    expect(await subscriber.exited).toBe(0)
    expect(subscriber.stdout()).toMatch(/\[1\] Received message: "cli message 1 at [^"]+"\n\[2\] Received message: "cli message 2 at /)
    expect(subscriber.stdout()).toContain('Total messages received: 3')
  }, 60_000)

  it('says clearly when the proxy is not there', async () => {
    const r = run(process.execPath, ['--import', 'tsx', 'proxy/cli/proxy-client.ts', '-proxy=http://127.0.0.1:1', '-topic=t'])
    expect(await r.exited).toBe(1)
    expect(r.stderr()).toMatch(/^proxy-client: cannot reach the proxy at http:\/\/127\.0\.0\.1:1: /)
  })

  it('runs the published script usage: proxy_client.sh subscribe mytopic 0.7 / publish mytopic 0.6 10', async () => {
    const usage = run('sh', ['infra/scripts/proxy_client.sh'])
    expect(await usage.exited).toBe(1)
    expect(usage.stderr()).toContain('subscribe mytopic 0.7')
    const { http, grpc } = cluster.proxies[0]!.ports
    const env = { PROXY_URL: `http://127.0.0.1:${http}`, PROXY_GRPC: `127.0.0.1:${grpc}` }
    const sub = run('sh', ['infra/scripts/proxy_client.sh', 'subscribe', 'mytopic', '0.7'], env)
    await waitFor('script subscribed', () => sub.stdout().includes('Subscribed to topic "mytopic" (threshold 0.7)'), 20_000)
    await topicMeshReady(cluster.nodes, 'mytopic')
    const pub = run('sh', ['infra/scripts/proxy_client.sh', 'publish', 'mytopic', '0.6', '2', '-delay=10ms'], env)
    await waitForAsync('script deliveries', async () => (sub.stdout().match(/Received message/g) ?? []).length === 2, 20_000)
    expect(pub.stdout()).toContain('Subscribed to topic "mytopic" (threshold 0.6)')
  }, 60_000)
})
