/**
 * A small parser compatible with Go's `flag` package, so the TypeScript CLIs
 * accept exactly the command lines the published Go clients accept:
 *
 * - `-name=value`, `--name=value`, `-name value`, `--name value`;
 * - bool flags: `-b` (true), `-b=true|false|1|0|t|f|…` (never `-b value`);
 * - durations in Go syntax (`100ms`, `1m30s`, `2m0s`, `1h`, `1.5s`; `0`),
 *   parsed to milliseconds; ints (decimal, 0x…, 0o…, 0b…, with `_`); floats;
 *   strings;
 * - parsing stops at the first non-flag argument (`-` alone counts as one) or
 *   after `--`; the rest is returned as `args`;
 * - `-h`, `-help` (and `--h`, `--help`) ask for the usage text, unless the
 *   program defines a flag of that name;
 * - errors read like Go's: `flag provided but not defined: -x`,
 *   `flag needs an argument: -x`, `invalid value "abc" for flag -count: parse error`.
 *
 * `parseFlags` throws FlagError / FlagHelp; `parseFlagsOrExit` prints like Go
 * does (message and usage on stderr, exit status 2; help: status 0).
 */

export type FlagType = 'string' | 'bool' | 'int' | 'float' | 'duration'

interface ValueOf {
  string: string
  bool: boolean
  int: number
  float: number
  /** milliseconds */
  duration: number
}

export interface FlagDef<T extends FlagType = FlagType> {
  type: T
  default: ValueOf[T]
  usage: string
}

export type FlagSpecs = Record<string, FlagDef>

export type FlagValues<S extends FlagSpecs> = { [K in keyof S]: S[K] extends FlagDef<infer T> ? ValueOf[T] : never }

export interface ParsedFlags<S extends FlagSpecs> {
  values: FlagValues<S>
  /** Arguments after the flags. */
  args: string[]
  /** Flags that appeared on the command line (others have their default). */
  set: Set<keyof S & string>
}

export const stringFlag = (defaultValue: string, usage: string): FlagDef<'string'> => ({ type: 'string', default: defaultValue, usage })
export const boolFlag = (defaultValue: boolean, usage: string): FlagDef<'bool'> => ({ type: 'bool', default: defaultValue, usage })
export const intFlag = (defaultValue: number, usage: string): FlagDef<'int'> => ({ type: 'int', default: defaultValue, usage })
export const floatFlag = (defaultValue: number, usage: string): FlagDef<'float'> => ({ type: 'float', default: defaultValue, usage })
/** `defaultMs` in milliseconds. */
export const durationFlag = (defaultMs: number, usage: string): FlagDef<'duration'> => ({ type: 'duration', default: defaultMs, usage })

/** A command line the flags do not accept; `usage` is the text to print after `message`. */
export class FlagError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message)
    this.name = 'FlagError'
  }
}

/** `-h` / `-help` was given: print `usage` and exit 0. */
export class FlagHelp extends Error {
  constructor(readonly usage: string) {
    super('flag: help requested')
    this.name = 'FlagHelp'
  }
}

export function parseFlags<S extends FlagSpecs>(specs: S, argv: readonly string[], program: string): ParsedFlags<S> {
  const values: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(specs)) values[name] = def.default
  const set = new Set<keyof S & string>()
  const usage = () => formatUsage(specs, program)

  let i = 0
  for (; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg.length < 2 || arg[0] !== '-') break
    let body = arg.slice(1)
    if (body[0] === '-') {
      body = body.slice(1)
      if (body.length === 0) {
        i++ // "--" ends the flags and is consumed
        break
      }
    }
    if (body.length === 0 || body[0] === '-' || body[0] === '=') {
      throw new FlagError(`bad flag syntax: ${arg}`, usage())
    }
    const eq = body.indexOf('=')
    const name = eq === -1 ? body : body.slice(0, eq)
    let value = eq === -1 ? undefined : body.slice(eq + 1)
    const def = Object.hasOwn(specs, name) ? specs[name] : undefined
    if (def === undefined) {
      if (name === 'h' || name === 'help') throw new FlagHelp(usage())
      throw new FlagError(`flag provided but not defined: -${name}`, usage())
    }
    if (def.type === 'bool') {
      const parsed = value === undefined ? true : parseBool(value)
      if (parsed === undefined) throw new FlagError(`invalid boolean value "${value}" for -${name}: parse error`, usage())
      values[name] = parsed
    } else {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`, usage())
        value = argv[++i]!
      }
      const parsed = parseValue(def.type, value)
      if (typeof parsed === 'string') {
        throw new FlagError(`invalid value "${value}" for flag -${name}: ${parsed}`, usage())
      }
      values[name] = parsed.value
    }
    set.add(name as keyof S & string)
  }
  return { values: values as FlagValues<S>, args: argv.slice(i), set }
}

/** Go's `flag.Parse` with ExitOnError: on a bad command line, message + usage on stderr and exit 2; help: usage, exit 0. */
export function parseFlagsOrExit<S extends FlagSpecs>(specs: S, argv: readonly string[], program: string): ParsedFlags<S> {
  try {
    return parseFlags(specs, argv, program)
  } catch (err) {
    if (err instanceof FlagHelp) {
      process.stderr.write(err.usage)
      process.exit(0)
    }
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${err.usage}`)
      process.exit(2)
    }
    throw err
  }
}

/** The usage text, formatted like Go's `flag.PrintDefaults` (flags sorted by name). */
export function formatUsage(specs: FlagSpecs, program: string): string {
  let out = `Usage of ${program}:\n`
  for (const name of Object.keys(specs).sort()) {
    const def = specs[name]!
    let line = `  -${name}`
    const typeName = def.type === 'bool' ? '' : def.type === 'float' ? 'float' : def.type
    if (typeName) line += ` ${typeName}`
    // Go puts the usage of a one-letter, typeless flag on the same line.
    line += line.length <= 4 ? '\t' : '\n    \t'
    line += def.usage.replaceAll('\n', '\n    \t')
    if (!isZero(def)) {
      line += def.type === 'string' ? ` (default ${JSON.stringify(def.default)})` : ` (default ${formatValue(def)})`
    }
    out += `${line}\n`
  }
  return out
}

function isZero(def: FlagDef): boolean {
  return def.default === '' || def.default === false || def.default === 0
}

function formatValue(def: FlagDef): string {
  return def.type === 'duration' ? formatGoDuration(def.default as number) : String(def.default)
}

function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return undefined
}

/** The parsed value, or the reason it does not parse ("parse error", "value out of range"). */
function parseValue(type: Exclude<FlagType, 'bool'>, text: string): { value: string | number } | string {
  switch (type) {
    case 'string':
      return { value: text }
    case 'int':
      return parseGoInt(text)
    case 'float': {
      const t = text.replaceAll('_', '')
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity)$/i.test(t)) return 'parse error'
      const value = /inf/i.test(t) ? (t.startsWith('-') ? -Infinity : Infinity) : Number(t)
      return { value }
    }
    case 'duration': {
      const ms = parseGoDuration(text)
      return ms === undefined ? 'parse error' : { value: ms }
    }
  }
}

function parseGoInt(text: string): { value: number } | string {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text)
  if (!m || /__|_$/.test(m[2]!)) return 'parse error'
  const digits = m[2]!.replaceAll('_', '')
  let n: bigint
  if (/^0[xXoObB]/.test(digits)) n = BigInt(digits.toLowerCase())
  else if (digits.length > 1 && digits[0] === '0') n = BigInt(`0o${digits.slice(1)}`) // Go: a leading 0 means octal
  else n = BigInt(digits)
  if (m[1] === '-') n = -n
  // Go's int is 64-bit; numbers here must also be exact in a JS number.
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) return 'value out of range'
  return { value: Number(n) }
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
}

/** Go's time.ParseDuration, in milliseconds (fractions allowed: 1500us → 1.5). Undefined when it does not parse. */
export function parseGoDuration(text: string): number | undefined {
  let s = text
  let sign = 1
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1
    s = s.slice(1)
  }
  if (s === '0') return 0
  if (s === '') return undefined
  let ns = 0
  const part = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/
  while (s.length > 0) {
    const m = part.exec(s)
    if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) return undefined
    const unit = UNIT_NS[m[3]!]
    if (unit === undefined) return undefined
    const whole = m[1] === '' ? 0 : Number(m[1])
    const frac = m[2] ? Number(`0.${m[2]}`) : 0
    ns += (whole + frac) * unit
    s = s.slice(m[0].length)
  }
  return (sign * ns) / 1e6
}

/** Go's time.Duration.String for a duration in milliseconds: 0s, 100ms, 1.5s, 20s, 2m0s, 1h0m0s. */
export function formatGoDuration(ms: number): string {
  let ns = Math.round(ms * 1e6)
  if (ns === 0) return '0s'
  const sign = ns < 0 ? '-' : ''
  ns = Math.abs(ns)
  if (ns < 1e9) {
    const [unit, size] = ns < 1e3 ? ['ns', 1] : ns < 1e6 ? ['µs', 1e3] : ['ms', 1e6]
    return `${sign}${trimFraction(ns / (size as number))}${unit}`
  }
  const hours = Math.floor(ns / 3600e9)
  ns -= hours * 3600e9
  const minutes = Math.floor(ns / 60e9)
  ns -= minutes * 60e9
  const seconds = `${trimFraction(ns / 1e9)}s`
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`
  if (minutes > 0) return `${sign}${minutes}m${seconds}`
  return `${sign}${seconds}`
}

function trimFraction(value: number): string {
  return value
    .toFixed(9)
    .replace(/\.?0+$/, '')
}
