import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { removeStaleNetworks, TbfNetwork, tbfUnavailable } from '../bench/tbf-network.js'

/**
 * bench:tbf's network: real namespaces, veth pairs and tc qdiscs. It needs
 * root and iproute2 (.ci/run installs iproute2; CI runs as root).
 */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const unavailable = tbfUnavailable()
const canBuild = unavailable === undefined
if (!canBuild) console.log(`bench:tbf network test skipped: ${unavailable} (infra/ci/install-test-tools.sh installs iproute2)`)
const MiB = 1024 * 1024

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter(Boolean)
const links = (): string => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })

/** Bytes the tbf qdisc (handle 20:) on `dev` in `ns` has sent. */
function tbfSent(ns: string, dev: string): number {
  const text = execFileSync('tc', ['-n', ns, '-s', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' })
  const match = /qdisc tbf 20:[^\n]*\n\s*Sent (\d+) bytes/.exec(text)
  if (!match) throw new Error(`no tbf qdisc on ${ns}/${dev}:\n${text}`)
  return Number(match[1])
}

/** A node process in `ns` that runs `script`; its stdout is collected. */
function inNamespace(ns: string, script: string): { child: ChildProcess; output: () => string } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
  return { child, output: () => out }
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Sends `bytes` zero bytes to host:port from wherever it runs, and exits once they are all acknowledged by the close. */
const sender = (host: string, port: number, bytes: number): string => `
  const socket = require('node:net').connect(${port}, '${host}', () => socket.end(Buffer.alloc(${bytes})))
  socket.on('close', () => process.exit(0))
  socket.on('error', (err) => { console.error(err.message); process.exit(1) })`

/** Counts what it receives on port, and prints the count of each finished connection. */
const receiver = (host: string, port: number): string => `
  require('node:net').createServer((socket) => {
    let n = 0
    socket.on('data', (chunk) => (n += chunk.length))
    socket.on('end', () => { console.log(n); socket.end() })
  }).listen(${port}, '${host}', () => console.log('listening'))`

describe.skipIf(!canBuild)('bench:tbf network (namespaces, veth, tc tbf)', () => {
  let network: TbfNetwork | undefined
  const children: ChildProcess[] = []
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL')
    network?.destroy()
    network = undefined
  })

  it('caps traffic between nodes in both directions, leaves the bench uncapped, and removes everything', async () => {
    network = TbfNetwork.create({ nodes: 2, rateMbit: 200 })
    const [one, two] = [network.namespace(1), network.namespace(2)]
    expect(namespaces()).toEqual(expect.arrayContaining([network.hub, one, two]))
    expect(links()).toContain(`${network.prefix}@`)
    const before = { up2: tbfSent(two, 'eth0'), down1: tbfSent(network.hub, 'n1') }

    const server = inNamespace(one, receiver(network.address(1), 5000))
    children.push(server.child)
    await waitFor('the receiver to listen', () => server.output().includes('listening'), 10_000)
    // 2 MiB from node 2 to node 1: node 2's upload and node 1's download carry them through tbf.
    const fromNode = inNamespace(two, sender(network.address(1), 5000, 2 * MiB))
    children.push(fromNode.child)
    await once(fromNode.child, 'exit')
    // 2 MiB from the bench: they reach node 1 past its download tbf.
    const fromBench = spawn(process.execPath, ['-e', sender(network.address(1), 5000, 2 * MiB)], { stdio: 'inherit' })
    children.push(fromBench)
    await once(fromBench, 'exit')
    await waitFor('both transfers counted', () => server.output().trim().split('\n').length === 3, 10_000)
    expect(server.output().trim().split('\n').slice(1).map(Number)).toEqual([2 * MiB, 2 * MiB])

    const up2 = tbfSent(two, 'eth0') - before.up2
    const down1 = tbfSent(network.hub, 'n1') - before.down1
    expect(up2).toBeGreaterThanOrEqual(2 * MiB)
    expect(down1).toBeGreaterThanOrEqual(2 * MiB)
    // Only node 2's megabytes (plus headers and handshakes) went through node 1's download cap.
    expect(down1).toBeLessThan(2.5 * MiB)

    const prefix = network.prefix
    network.destroy()
    network = undefined
    expect(namespaces().filter((name) => name.startsWith(prefix))).toEqual([])
    expect(links()).not.toContain(`${prefix}@`)
  })

  it('removes the namespaces of a run whose process is gone, and only those', async () => {
    const dead = spawn(process.execPath, ['-e', ''])
    await once(dead, 'exit')
    const stale = `otbf${dead.pid}-n1`
    const mine = `otbf${process.pid}-n9`
    execFileSync('ip', ['netns', 'add', stale])
    execFileSync('ip', ['netns', 'add', mine])
    try {
      expect(removeStaleNetworks()).toEqual([stale])
      expect(namespaces()).toContain(mine)
      expect(namespaces()).not.toContain(stale)
    } finally {
      execFileSync('ip', ['netns', 'del', mine])
      if (namespaces().includes(stale)) execFileSync('ip', ['netns', 'del', stale])
    }
  })

  it('bench:tbf leaves no namespace or link behind when stopped with Ctrl-C mid-run', async () => {
    const bench = spawn(
      process.execPath,
      ['--import', 'tsx', 'node/bench/tbf.ts', '--nodes=2', '--sizes=1KiB', '--modes=gossipsub', '--quick'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    children.push(bench)
    let out = ''
    bench.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const prefix = `otbf${bench.pid}`
    await waitFor('the bench to start its nodes', () => out.includes('starting 2 nodes'), 60_000)
    expect(namespaces().filter((name) => name.startsWith(prefix))).toHaveLength(3)
    bench.kill('SIGINT')
    const [code] = (await Promise.race([
      once(bench, 'exit'),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`bench:tbf did not exit after SIGINT:\n${out}`)), 30_000)),
    ])) as [number | null]
    expect(code).toBe(130)
    expect(namespaces().filter((name) => name.startsWith(prefix))).toEqual([])
    expect(links()).not.toContain(`${prefix}@`)
  }, 120_000)

  it('skips with one line when not run as root', () => {
    const out = execFileSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', 'node/bench/tbf.ts'],
      { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } },
    )
    expect(out).toMatch(/^bench:tbf: skipped: it needs root[^\n]*\n$/)
  }, 60_000)
})
