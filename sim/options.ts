import { DEFAULT_CONFIG, type SimConfig, type SimMode } from './run.js'

/** What the command line asks for: one configuration, run in one mode or in both on the same seed. */
export interface SimCommand {
  config: SimConfig
  modes: SimMode[]
}

export class UsageError extends Error {}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kib|kb|mib|mb)?$/i
const UNITS: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 * 1024 }

function size(flag: string, value: string): number {
  const match = SIZE.exec(value)
  if (match === null) throw new UsageError(`--${flag}: expected a size like 1MiB, 64KiB or 1000, got "${value}"`)
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()])
}

function number(flag: string, value: string, min: number, max: number, integer = false): number {
  const n = Number(value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : value)
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag}: expected ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got "${value}"`)
  }
  return n
}

function range(flag: string, value: string): [number, number] {
  const parts = value.split('-').map((part) => number(flag, part, 0, 60_000))
  if (parts.length === 1) return [parts[0], parts[0]]
  if (parts.length !== 2 || parts[0] > parts[1]) throw new UsageError(`--${flag}: expected ms or a range like 20-80, got "${value}"`)
  return [parts[0], parts[1]]
}

function bool(flag: string, value: string): boolean {
  if (value === 'true' || value === '') return true
  if (value === 'false') return false
  throw new UsageError(`--${flag}: expected true or false, got "${value}"`)
}

type Setter = (config: SimConfig, value: string, flag: string) => void

const FLAGS: Record<string, { help: string; set: Setter }> = {
  nodes: { help: 'nodes at start', set: (c, v, f) => (c.nodes = number(f, v, 2, 100_000, true)) },
  size: { help: 'message size (1MiB, 64KiB, bytes)', set: (c, v, f) => (c.size = size(f, v)) },
  messages: { help: 'messages published', set: (c, v, f) => (c.messages = number(f, v, 1, 1_000_000, true)) },
  rate: { help: 'messages per second (virtual time)', set: (c, v, f) => (c.rate = number(f, v, 0.001, 100_000)) },
  uplink: { help: 'upload bandwidth per node, Mbit/s (0 = unlimited)', set: (c, v, f) => (c.uplinkMbps = number(f, v, 0, 1e6)) },
  downlink: { help: 'download bandwidth per node, Mbit/s (0 = unlimited)', set: (c, v, f) => (c.downlinkMbps = number(f, v, 0, 1e6)) },
  latency: { help: 'one-way link latency in ms, or a uniform range like 20-80', set: (c, v, f) => (c.latencyMs = range(f, v)) },
  loss: { help: 'frame loss probability (0.01 or 1%)', set: (c, v, f) => (c.loss = number(f, v, 0, 0.5)) },
  seed: { help: 'random seed (the whole run follows from it)', set: (c, v, f) => (c.seed = number(f, v, 0, 2 ** 31, true)) },
  dials: { help: 'peers each node dials at start', set: (c, v, f) => (c.dials = number(f, v, 1, 1000, true)) },
  'max-connections': { help: 'most connections peer exchange may grow a node to', set: (c, v, f) => (c.maxConnections = number(f, v, 1, 10_000, true)) },
  churn: { help: 'nodes replaced per second while publishing', set: (c, v, f) => (c.churn = number(f, v, 0, 1000)) },
  'shard-factor': { help: 'k, fragments per message', set: (c, v, f) => (c.shardFactor = number(f, v, 1, 255, true)) },
  multiplier: { help: 'coded shards the publisher sends = ceil(k × this)', set: (c, v, f) => (c.shardMultiplier = number(f, v, 1, 16)) },
  threshold: { help: 'fraction of k held before relays recode', set: (c, v, f) => (c.threshold = number(f, v, 0, 1)) },
  'mesh-min': { help: 'mesh degree lower bound', set: (c, v, f) => (c.mesh = { ...c.mesh, min: number(f, v, 0, 1000, true) }) },
  'mesh-target': { help: 'mesh degree aimed for (gossipsub D)', set: (c, v, f) => (c.mesh = { ...c.mesh, target: number(f, v, 1, 1000, true) }) },
  'mesh-max': { help: 'mesh degree upper bound', set: (c, v, f) => (c.mesh = { ...c.mesh, max: number(f, v, 1, 1000, true) }) },
  heartbeat: { help: 'heartbeat period, ms', set: (c, v, f) => (c.heartbeatMs = number(f, v, 10, 60_000, true)) },
  payload: {
    help: 'modelled (codec on 8-byte stand-ins, sizes counted as --size) or full (real bytes)',
    set: (c, v, f) => {
      if (v !== 'modelled' && v !== 'full') throw new UsageError(`--${f}: expected modelled or full, got "${v}"`)
      c.payload = v
    },
  },
  'flood-publish': { help: 'gossip: publisher sends to all peers (true, the library default) or its mesh', set: (c, v, f) => (c.floodPublish = bool(f, v)) },
  warmup: { help: 'ms for meshes to form before the first publish', set: (c, v, f) => (c.warmupMs = number(f, v, 0, 600_000)) },
  drain: { help: 'most ms after the last publish before giving up', set: (c, v, f) => (c.drainMs = number(f, v, 0, 3_600_000)) },
}

export function usage(): string {
  const lines = Object.entries(FLAGS).map(([flag, { help }]) => `  --${flag.padEnd(16)} ${help}`)
  return ['npm run sim -- [--mode optimum|gossip|both] [flags]', '  --mode             optimum, gossip, or both on the same seed', ...lines].join('\n')
}

/** Parses `--flag value` and `--flag=value`. */
export function parseSimArgs(argv: readonly string[], base: SimConfig = DEFAULT_CONFIG): SimCommand {
  const config: SimConfig = { ...base, mesh: { ...base.mesh }, latencyMs: [...base.latencyMs] }
  let modes: SimMode[] = [config.mode]
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}" (flags start with --)`)
    const eq = arg.indexOf('=')
    const flag = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[i + 1]?.startsWith('--') === false ? argv[++i] : ''
    if (flag === 'mode') {
      if (value === 'both') modes = ['optimum', 'gossip']
      else if (value === 'optimum' || value === 'gossip') modes = [value]
      else throw new UsageError(`--mode: expected optimum, gossip or both, got "${value}"`)
      continue
    }
    const spec = FLAGS[flag]
    if (spec === undefined) throw new UsageError(`unknown flag --${flag}\n${usage()}`)
    spec.set(config, value, flag)
  }
  const { min, target, max } = config.mesh
  if (!(min <= target && target <= max)) throw new UsageError(`--mesh-min/target/max: need min ≤ target ≤ max, got ${min}/${target}/${max}`)
  config.mode = modes[0]
  return { config, modes }
}
