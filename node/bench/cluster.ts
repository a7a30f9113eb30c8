import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { NodeMode } from '../../common/config/index.js'
import { allocatorEnv } from '../../infra/launcher/allocator.js'
import { bytesSent, meshPeerCount, nodeState } from './node-api.js'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const POLL_MS = 200
/** A node loading libp2p (and, the first time, compiling its TypeScript) on a busy machine takes a while to answer. */
const API_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000

export interface NodePorts {
  sidecar: number
  api: number
  /** The libp2p port of the mode being run. */
  p2p: number
}

/** Where one node runs: the address it binds and is reached at, its ports, and what its command runs under. */
export interface NodeSite {
  /** LISTEN_HOST of the node, and the address the bench and the other nodes reach it at. */
  host: string
  ports: { sidecar: number; api: number; gossipsub: number; optimum: number }
  /** A command prefix, e.g. `ip netns exec <namespace>`; empty to run the node directly. */
  wrap: string[]
}

/** Decides where node `index` (1-based) runs. */
export type Placement = (index: number) => Promise<NodeSite>

/** Every node on 127.0.0.1, each with its own free ports. */
export const loopback: Placement = async () => {
  const [sidecar, api, gossipsub, optimum] = await freePorts(4)
  return { host: '127.0.0.1', ports: { sidecar: sidecar!, api: api!, gossipsub: gossipsub!, optimum: optimum! }, wrap: [] }
}

/** A node process exited before the cluster was ready; `reason` is the first line it wrote to stderr. */
export class NodeExitedError extends Error {
  constructor(
    readonly node: number,
    readonly reason: string,
    readonly logFile: string,
  ) {
    super(`node ${node} exited: ${reason} (log: ${logFile})`)
    this.name = 'NodeExitedError'
  }
}

/** Every node process started and not yet seen to exit, so that no exit path of the bench leaves one behind. */
const live = new Set<NodeProcess>()

/** Stops every node process still running (SIGTERM, then SIGKILL after a grace period). */
export async function stopAllNodes(): Promise<void> {
  await Promise.all([...live].map((node) => node.stop()))
}

/** For `process.on('exit')`, where nothing asynchronous runs any more. */
export function killAllNodesNow(): void {
  for (const node of live) node.kill('SIGKILL')
}

/**
 * Where the kernel takes the local ports of outgoing connections from
 * (Linux: ip_local_port_range). Ports handed to nodes must lie outside it:
 * a port found free by binding :0 comes from that range, and while earlier
 * nodes dial each other one of their connections can take it before the
 * node it was meant for binds it (seen as EADDRINUSE at 16 nodes).
 */
function ephemeralPorts(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return { low, high }
  } catch {
    // not Linux: fall through to the range Linux uses by default
  }
  return { low: 32768, high: 60999 }
}

/** Ports already given to a node of this run: a port never serves two nodes, even after the first one stopped. */
const handedOut = new Set<number>()

/** `count` distinct ports outside the ephemeral range that nothing listens on right now. */
async function freePorts(count: number): Promise<number[]> {
  const { low, high } = ephemeralPorts()
  // The larger of the spans below and above the ephemeral range, keeping clear of the well-known ports.
  const [from, to] = low - 10_000 >= 65_535 - high ? [10_000, low - 1] : [high + 1, 65_535]
  const ports: number[] = []
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 1000) throw new Error(`no free TCP ports found in ${from}-${to}`)
    const port = from + Math.floor(Math.random() * (to - from + 1))
    if (handedOut.has(port) || !(await canListen(port))) continue
    handedOut.add(port)
    ports.push(port)
  }
  return ports
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** One `node/main.ts` process, started the way a deployment starts it, its output in `logFile`. */
class NodeProcess {
  readonly exited: Promise<void>
  private readonly child: ChildProcess
  private stderrHead = ''
  private exitDescription: string | undefined

  constructor(
    readonly index: number,
    readonly host: string,
    readonly ports: NodePorts,
    readonly logFile: string,
    wrap: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    // stdout (the node's pino log) goes straight to the file; stderr passes through here so that
    // a refusal to start can be quoted. O_APPEND keeps the two writers from overwriting each other.
    const stdout = openSync(logFile, 'a')
    try {
      const command = [...wrap, process.execPath, '--import', 'tsx', 'node/main.ts']
      this.child = spawn(command[0]!, command.slice(1), {
        cwd: REPO_ROOT,
        env,
        stdio: ['ignore', stdout, 'pipe'],
      })
    } finally {
      closeSync(stdout)
    }
    live.add(this)
    const log = createWriteStream(logFile, { flags: 'a' })
    this.child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk)
      if (this.stderrHead.length < 4096) this.stderrHead += chunk.toString()
    })
    this.exited = new Promise<void>((resolve) => {
      const done = (description: string): void => {
        if (this.exitDescription !== undefined) return
        this.exitDescription = description
        live.delete(this)
        log.end()
        resolve()
      }
      this.child.once('error', (err) => done(`could not start: ${err.message}`))
      // 'close' rather than 'exit': by then stderr has been read to its end, so reason() can quote it.
      this.child.once('close', (code, signal) => done(signal ? `killed by ${signal}` : `exit code ${code}`))
    })
  }

  get running(): boolean {
    return this.exitDescription === undefined
  }

  /** Resident set size in bytes (Linux /proc); undefined elsewhere or once exited. */
  rssBytes(): number | undefined {
    try {
      const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'))?.[1]
      return kib === undefined ? undefined : Number(kib) * 1024
    } catch {
      return undefined
    }
  }

  /** The first line the node wrote to stderr, else how it ended. */
  reason(): string {
    const line = this.stderrHead.split('\n').find((text) => text.trim() !== '')
    return line?.trim() ?? `${this.exitDescription ?? 'still running'} without a word on stderr`
  }

  exitedError(): NodeExitedError {
    return new NodeExitedError(this.index, this.reason(), this.logFile)
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal)
  }

  async stop(): Promise<void> {
    this.kill('SIGTERM')
    const timer = setTimeout(() => this.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await this.exited
    clearTimeout(timer)
  }
}

export interface BenchNode {
  /** 1-based, as in the log file names and the compose topology. */
  readonly index: number
  readonly peerId: string
  /** The address its API and sidecar answer on. */
  readonly host: string
  readonly ports: NodePorts
  readonly logFile: string
}

export interface ClusterOptions {
  mode: NodeMode
  size: number
  /** Holds the log files and node 1's identity; must exist. */
  dir: string
  /** Added to every node's environment (e.g. a larger maximum message size). */
  env: Record<string, string>
  /** Where each node runs; loopback unless given. */
  placement?: Placement
}

/**
 * N node processes (on loopback unless placed elsewhere) in the published compose topology: node 1
 * with a persistent identity, the others given it as their bootstrap peer and
 * finding each other through peer exchange.
 */
export class Cluster {
  private constructor(
    readonly nodes: BenchNode[],
    private readonly processes: NodeProcess[],
  ) {}

  /** Starts the nodes and waits until each answers its API; on failure stops whatever it started. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const processes: NodeProcess[] = []
    try {
      const spawnNode = async (index: number, env: Record<string, string>): Promise<NodeProcess> => {
        const site = await (options.placement ?? loopback)(index)
        const { sidecar, api, gossipsub, optimum } = site.ports
        const ports = { sidecar, api, p2p: options.mode === 'gossipsub' ? gossipsub : optimum }
        const node = new NodeProcess(index, site.host, ports, path.join(options.dir, `node-${index}.log`), site.wrap, {
          ...process.env,
          NODE_MODE: options.mode,
          LISTEN_HOST: site.host,
          SIDECAR_PORT: String(sidecar),
          API_PORT: String(api),
          GOSSIPSUB_PORT: String(gossipsub),
          OPTIMUM_PORT: String(optimum),
          LOG_LEVEL: 'warn',
          // one cluster: the handshake keeps nodes of different CLUSTER_IDs apart
          CLUSTER_ID: `bench-${options.mode}`,
          // the allocator npm start and the image run nodes on, where it is installed
          ...allocatorEnv(process.env),
          ...options.env,
          ...env,
        })
        processes.push(node)
        return node
      }

      const identityDir = path.join(options.dir, 'node-1-identity')
      await mkdir(identityDir)
      const first = await spawnNode(1, { IDENTITY_DIR: identityDir, BOOTSTRAP_PEERS: '' })
      const firstId = await waitForApi(first)
      const bootstrap = `/ip4/${first.host}/tcp/${first.ports.p2p}/p2p/${firstId}`
      // A few at a time: 16 node processes loading libp2p at once on 2 cores each take over a
      // minute to answer (and may miss the API deadline); in turns they are all up sooner.
      const ids = [firstId]
      let next = 2
      const startInTurn = async (): Promise<void> => {
        while (next <= options.size) {
          const index = next++
          ids[index - 1] = await waitForApi(await spawnNode(index, { IDENTITY_DIR: '', BOOTSTRAP_PEERS: bootstrap }))
        }
      }
      await Promise.all(Array.from({ length: Math.max(2, os.cpus().length) }, startInTurn))
      const nodes = processes.map((node) => ({
        index: node.index,
        peerId: ids[node.index - 1]!,
        host: node.host,
        ports: node.ports,
        logFile: node.logFile,
      }))
      return new Cluster(nodes, processes)
    } catch (err) {
      await Promise.all(processes.map((node) => node.stop()))
      throw err
    }
  }

  /** Until every node is connected to at least `min` peers. */
  async waitForPeers(min: number, timeoutMs: number): Promise<void> {
    await this.waitForAll(`connected peers`, min, timeoutMs, async (node) => (await nodeState(node)).peers.length)
  }

  /** Until every node has at least `min` mesh peers on `topic`. */
  async waitForMesh(topic: string, min: number, timeoutMs: number): Promise<void> {
    await this.waitForAll(`mesh peers on topic "${topic}"`, min, timeoutMs, (node) => meshPeerCount(node, topic))
  }

  /** Each node's `optimum_node_bytes_sent_total`, in node order. */
  bytesSent(): Promise<number[]> {
    return Promise.all(this.nodes.map((node) => bytesSent(node)))
  }

  /** Each node process's resident set size in bytes, in node order (undefined where unknown). */
  rss(): Array<number | undefined> {
    return this.processes.map((node) => node.rssBytes())
  }

  /** The first node process that has exited, as an error to throw. */
  exitedNode(): NodeExitedError | undefined {
    return this.processes.find((node) => !node.running)?.exitedError()
  }

  stop(): Promise<void> {
    return Promise.all(this.processes.map((node) => node.stop())).then(() => undefined)
  }

  private async waitForAll(
    what: string,
    min: number,
    timeoutMs: number,
    count: (node: BenchNode) => Promise<number>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const exited = this.exitedNode()
      if (exited) throw exited
      const counts = await Promise.all(this.nodes.map((node) => count(node).catch(() => 0)))
      const behind = this.nodes.findIndex((_, i) => counts[i]! < min)
      if (behind < 0) return
      if (Date.now() > deadline) {
        const node = this.nodes[behind]!
        const others = counts.filter((n) => n < min).length - 1
        throw new Error(
          `node ${node.index} has ${counts[behind]} ${what} after ${timeoutMs / 1000} s, wanted at least ${min}` +
            `${others > 0 ? ` (${others} other node(s) are short too)` : ''} (log: ${node.logFile})`,
        )
      }
      await delay(POLL_MS)
    }
  }
}

/** Polls the node's API until it answers; resolves with its peer id. */
async function waitForApi(node: NodeProcess): Promise<string> {
  const deadline = Date.now() + API_TIMEOUT_MS
  for (;;) {
    if (!node.running) throw node.exitedError()
    const state = await nodeState(node).catch(() => undefined)
    if (state) return state.pub_key
    if (Date.now() > deadline) {
      throw new Error(
        `node ${node.index} did not answer on ${node.host}:${node.ports.api} within ${API_TIMEOUT_MS / 1000} s (log: ${node.logFile})`,
      )
    }
    // Its exit ends the wait at once: a node that refuses to start should not cost a poll interval.
    await Promise.race([delay(POLL_MS), node.exited])
  }
}
