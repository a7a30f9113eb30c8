import { execFileSync } from 'node:child_process'
import { API_PORT, GOSSIPSUB, OPTIMUM, SIDECAR_PORT } from '../../common/config/variables.js'
import type { NodeSite, Placement } from './cluster.js'

/**
 * A bandwidth-capped network for real node processes on one machine: one
 * network namespace per node, each joined by a veth pair to a bridge in a hub
 * namespace, and a veth from the bench's own namespace to the same bridge.
 *
 * Each node's link is shaped in both directions (its namespace's egress =
 * upload, the hub side's egress = download) by a tbf qdisc under an htb
 * root whose only other class carries the bench's own traffic (publishes
 * in, deliveries out) unshaped: the bench watches every node, and
 * counting that against the node's link would add one whole message per
 * node per message to both modes alike and squash their difference.
 *
 * Everything lives in namespaces named `otbf<pid>-…`, so removing them
 * removes every link too, and a run that died (SIGKILL, power) is recognised
 * by its dead pid and cleaned up by the next one.
 */

const PREFIX = 'otbf'
const OWNED = new RegExp(`^${PREFIX}(\\d+)-`)
/** The bench is host .254 of its /24; nodes are .1 up. */
const BENCH_HOST = 254
export const MAX_NODES = 64
const BURST = '64kb'
/** How long a full tbf queue may hold a packet before it drops: a home router's buffer, not a datacentre's. */
const QUEUE_LATENCY = '100ms'

/** Each node has a namespace of its own, so all of them use the published default ports. */
const SITE_PORTS: NodeSite['ports'] = {
  sidecar: Number(SIDECAR_PORT.default),
  api: Number(API_PORT.default),
  gossipsub: Number(GOSSIPSUB.port.default),
  optimum: Number(OPTIMUM.port.default),
}

function run(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim()
    throw new Error(`${command} ${args.join(' ')}: ${stderr || (err as Error).message}`)
  }
}

function commandExists(command: string): boolean {
  try {
    execFileSync(command, ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Why this machine cannot run the capped network, or undefined if it can. */
export function tbfUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'it needs Linux (network namespaces, veth and tc)'
  if (process.getuid?.() !== 0) {
    return 'it needs root to create network namespaces, veth pairs and tc qdiscs (run it as root, e.g. sudo npm run bench:tbf)'
  }
  for (const command of ['ip', 'tc']) {
    if (!commandExists(command)) return `it needs the ${command} command (Debian: apt-get install iproute2)`
  }
  return undefined
}

function namespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name !== '')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Runs `args` and ignores a failure: for removing what may already be gone. */
function tryRun(command: string, args: readonly string[]): void {
  try {
    run(command, args)
  } catch {
    // already gone
  }
}

/** Names of the links `ip [where] link show` lists (`where`: e.g. `-n <namespace>`). */
function linksOf(where: readonly string[]): string[] {
  return run('ip', [...where, '-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1])
    .filter((link): link is string => link !== undefined)
}

/**
 * Kills whatever still runs in `name`, deletes its links, then the namespace.
 * The kernel would delete the links with the namespace, but later, from a work
 * queue; deleting them first makes "gone" mean gone on return.
 */
function removeNamespace(name: string): void {
  let pids: string[] = []
  let linkNames: string[] = []
  try {
    pids = run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)
    linkNames = linksOf(['-n', name]).filter((link) => link !== 'lo')
  } catch {
    return // not there (any more)
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {
      // exited meanwhile
    }
  }
  for (const link of linkNames) tryRun('ip', ['-n', name, 'link', 'del', link])
  tryRun('ip', ['netns', 'del', name])
}

const ownerPid = (name: string): number | undefined => {
  const pid = OWNED.exec(name)?.[1]
  return pid === undefined ? undefined : Number(pid)
}

/** Removes the namespaces (and the bench-side link) of earlier runs whose process is gone; returns their names. */
export function removeStaleNetworks(): string[] {
  const dead = (name: string): boolean => {
    const pid = ownerPid(name)
    return pid !== undefined && pid !== process.pid && !alive(pid)
  }
  const stale = namespaces().filter(dead)
  for (const name of stale) removeNamespace(name)
  const staleLinks = linksOf([]).filter((link) => new RegExp(`^${PREFIX}\\d+$`).test(link) && dead(`${link}-`))
  for (const link of staleLinks) tryRun('ip', ['link', 'del', link])
  return stale
}

/** Names of namespaces that a live bench:tbf (not this process) owns. */
function othersRunning(): string[] {
  return namespaces().filter((name) => {
    const pid = ownerPid(name)
    return pid !== undefined && pid !== process.pid
  })
}

export interface TbfNetworkOptions {
  nodes: number
  /** Upload and download cap of every node, in Mbit/s. */
  rateMbit: number
}

export class TbfNetwork {
  readonly prefix = `${PREFIX}${process.pid}`
  readonly hub = `${this.prefix}-hub`
  /** The bench's address on the bridge, in its own namespace. */
  readonly benchAddress: string
  private readonly subnet: string
  /** Every namespace created so far, so that a failure halfway still removes them all. */
  private readonly created: string[] = []

  private constructor(private readonly options: TbfNetworkOptions) {
    this.subnet = freeSubnet()
    this.benchAddress = `${this.subnet}.${BENCH_HOST}`
  }

  /** Builds the whole network; on any failure removes what it built and throws the failing command. */
  static create(options: TbfNetworkOptions): TbfNetwork {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > MAX_NODES) {
      throw new Error(`nodes must be a whole number from 1 to ${MAX_NODES}, got ${options.nodes}`)
    }
    if (!(options.rateMbit > 0)) throw new Error(`the rate must be a positive number of Mbit/s, got ${options.rateMbit}`)
    const running = othersRunning()
    if (running.length > 0) throw new Error(`another bench:tbf is running (namespaces ${running.join(', ')}); one at a time`)
    const network = new TbfNetwork(options)
    try {
      network.build()
    } catch (err) {
      network.destroy()
      throw err
    }
    return network
  }

  namespace(index: number): string {
    return `${this.prefix}-n${index}`
  }

  address(index: number): string {
    return `${this.subnet}.${index}`
  }

  /** Node `index` runs in its own namespace, on its own address, with the default ports. */
  readonly placement: Placement = async (index) => {
    if (index < 1 || index > this.options.nodes) throw new Error(`the network has nodes 1 to ${this.options.nodes}, not ${index}`)
    return { host: this.address(index), ports: SITE_PORTS, wrap: ['ip', 'netns', 'exec', this.namespace(index)] }
  }

  /** Totals over every cap (both directions of every node): bytes through, packets dropped, packets held back. */
  counters(): { tbf_bytes: number; tbf_dropped: number; tbf_overlimits: number } {
    const total = { tbf_bytes: 0, tbf_dropped: 0, tbf_overlimits: 0 }
    const add = (ns: string, dev: string): void => {
      const text = run('tc', ['-n', ns, '-s', 'qdisc', 'show', 'dev', dev])
      const match = /qdisc tbf 20:[^\n]*\n\s*Sent (\d+) bytes \d+ pkt \(dropped (\d+), overlimits (\d+)/.exec(text)
      if (!match) throw new Error(`no tbf counters on ${ns}/${dev}`)
      total.tbf_bytes += Number(match[1])
      total.tbf_dropped += Number(match[2])
      total.tbf_overlimits += Number(match[3])
    }
    for (let index = 1; index <= this.options.nodes; index++) {
      add(this.namespace(index), 'eth0')
      add(this.hub, `n${index}`)
    }
    return total
  }

  /** Removes every namespace (and with them every link) this network made; safe to call again. */
  destroy(): void {
    while (this.created.length > 0) removeNamespace(this.created.pop()!)
    tryRun('ip', ['link', 'del', this.prefix])
  }

  private addNamespace(name: string): void {
    run('ip', ['netns', 'add', name])
    this.created.push(name)
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  }

  private build(): void {
    this.addNamespace(this.hub)
    run('ip', ['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge'])
    run('ip', ['-n', this.hub, 'link', 'set', 'br0', 'up'])
    // The bench's end stays in this namespace; it goes when the hub does.
    run('ip', ['link', 'add', this.prefix, 'type', 'veth', 'peer', 'name', 'bench', 'netns', this.hub])
    run('ip', ['-n', this.hub, 'link', 'set', 'bench', 'master', 'br0', 'up'])
    run('ip', ['addr', 'add', `${this.benchAddress}/24`, 'dev', this.prefix])
    run('ip', ['link', 'set', this.prefix, 'up'])
    for (let index = 1; index <= this.options.nodes; index++) {
      const ns = this.namespace(index)
      const port = `n${index}`
      this.addNamespace(ns)
      run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.hub])
      run('ip', ['-n', this.hub, 'link', 'set', port, 'master', 'br0', 'up'])
      run('ip', ['-n', ns, 'addr', 'add', `${this.address(index)}/24`, 'dev', 'eth0'])
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
      this.shape(ns, 'eth0', 'dst')
      this.shape(this.hub, port, 'src')
    }
  }

  /** tbf on everything `dev` sends except what goes to (`dst`) or comes from (`src`) the bench. */
  private shape(ns: string, dev: string, benchSide: 'src' | 'dst'): void {
    const tc = (...args: string[]): string => run('tc', ['-n', ns, ...args])
    tc('qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '20')
    for (const id of ['1:10', '1:20']) tc('class', 'add', 'dev', dev, 'parent', '1:', 'classid', id, 'htb', 'rate', '10gbit', 'quantum', '60000')
    tc('qdisc', 'add', 'dev', dev, 'parent', '1:20', 'handle', '20:', 'tbf', 'rate', `${this.options.rateMbit}mbit`, 'burst', BURST, 'latency', QUEUE_LATENCY)
    tc('filter', 'add', 'dev', dev, 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', benchSide, `${this.benchAddress}/32`, 'flowid', '1:10')
  }
}

/** The first 10.77.x.0/24 that no interface of this namespace uses. */
function freeSubnet(): string {
  const used = run('ip', ['-o', '-4', 'addr', 'show'])
  for (let x = 0; x < 256; x++) {
    if (!used.includes(`inet 10.77.${x}.`)) return `10.77.${x}`
  }
  throw new Error('every 10.77.x.0/24 is in use on this machine')
}
