import { boolFlag, parseFlagsOrExit, stringFlag, type FlagSpecs, type FlagValues } from '../../common/cli/go-flags.js'
import type { NodeMode } from '../../common/config/index.js'

export interface MessageSize {
  /** As written on the command line and in the JSON keys: `1KiB`, `64KiB`, `1MiB`. */
  label: string
  bytes: number
  /** Messages timed one at a time (M). */
  latencyCount: number
  /** Messages pushed as fast as the node takes them (K). */
  throughputCount: number
}

export interface BenchOptions {
  modes: NodeMode[]
  nodeCounts: number[]
  sizes: MessageSize[]
  quick: boolean
}

/** The flags every node bench takes; `defaults` are the node counts and sizes it measures when not told. */
function benchFlags(defaults: { nodes: string; sizes: string }) {
  return {
    modes: stringFlag('gossipsub,optimum', 'comma-separated NODE_MODEs to measure: gossipsub, optimum'),
    nodes: stringFlag(defaults.nodes, 'comma-separated node counts (each at least 2)'),
    sizes: stringFlag(defaults.sizes, 'comma-separated message sizes, e.g. 512B, 1KiB, 64KiB, 1MiB'),
    quick: boolFlag(false, 'a smoke run: about a tenth of the messages'),
  }
}

const MODES: readonly NodeMode[] = ['gossipsub', 'optimum']
const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 * 1024 }

/**
 * Message counts per size, chosen so that a full run of one mode (3 sizes ×
 * 4, 8 and 16 nodes) stays around ten minutes on 2 cores while p99 still rests on
 * 30–200 samples. Large messages cost time per message, so they get fewer.
 */
function counts(bytes: number, quick: boolean): { latencyCount: number; throughputCount: number } {
  const full =
    bytes <= 4 * 1024
      ? { latencyCount: 200, throughputCount: 2000 }
      : bytes <= 256 * 1024
        ? { latencyCount: 100, throughputCount: 500 }
        : { latencyCount: 30, throughputCount: 50 }
  if (!quick) return full
  return { latencyCount: Math.max(5, full.latencyCount / 10), throughputCount: Math.max(10, full.throughputCount / 10) }
}

/** A bad flag value: one line naming the program, exit status 2. */
export function failFlag(program: string, message: string): never {
  process.stderr.write(`${program}: ${message}\n`)
  process.exit(2)
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

function parseSize(program: string, text: string, quick: boolean): MessageSize {
  const match = /^(\d+)(B|KiB|MiB)$/.exec(text)
  const bytes = match ? Number(match[1]) * UNITS[match[2]!]! : 0
  if (bytes < 1) failFlag(program, `invalid size "${text}": expected a positive whole number of B, KiB or MiB, e.g. 64KiB`)
  return { label: text, bytes, ...counts(bytes, quick) }
}

/**
 * Parses a node bench's command line: the common flags (with this bench's
 * defaults) plus its `extra` ones, whose values come back as they are.
 */
export function parseBenchFlags<E extends FlagSpecs>(
  argv: readonly string[],
  program: string,
  defaults: { nodes: string; sizes: string },
  extra: E,
): { options: BenchOptions; extra: FlagValues<E> } {
  const common = benchFlags(defaults)
  const parsed = parseFlagsOrExit({ ...common, ...extra }, argv, program)
  const args = parsed.args
  // The spread's type loses the keys' own types; each part is read back with its own.
  const values = parsed.values as unknown as FlagValues<typeof common>
  const fail = (message: string): never => failFlag(program, message)
  if (args.length > 0) fail(`unexpected argument "${args[0]}"`)
  const modes = list(values.modes).map((mode) => {
    if (!(MODES as readonly string[]).includes(mode)) fail(`invalid mode "${mode}": expected ${MODES.join(' or ')}`)
    return mode as NodeMode
  })
  const nodeCounts = list(values.nodes).map((text) => {
    const count = /^\d+$/.test(text) ? Number(text) : 0
    if (count < 2 || count > 64) fail(`invalid node count "${text}": expected a whole number from 2 to 64`)
    return count
  })
  const sizes = [...new Set(list(values.sizes))].map((text) => parseSize(program, text, values.quick))
  if (modes.length === 0 || nodeCounts.length === 0 || sizes.length === 0) {
    fail('--modes, --nodes and --sizes each need at least one value')
  }
  const options = { modes: [...new Set(modes)], nodeCounts: [...new Set(nodeCounts)], sizes, quick: values.quick }
  return { options, extra: parsed.values as unknown as FlagValues<E> }
}

/** `bench:node`'s command line. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  return parseBenchFlags(argv, 'bench:node', { nodes: '8,16', sizes: '1KiB,64KiB,1MiB' }, {}).options
}
