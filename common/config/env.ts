/** Where the environment comes from (.env under the process environment) and how entry points stop on a bad one. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'dotenv'
import { ConfigError, quote } from './error.js'
import type { Env } from './types.js'

export interface ReadEnvOptions {
  /** Directory whose `.env` is read; default process.cwd(). */
  cwd?: string
  /** Default process.env; never modified. */
  processEnv?: NodeJS.ProcessEnv
}

/**
 * The process environment over `<cwd>/.env` (if the file exists): a variable
 * set in the real environment wins, even when set to ''. A malformed or
 * unreadable .env is a ConfigError.
 */
export function readEnv(options: ReadEnvOptions = {}): Env {
  const processEnv = options.processEnv ?? process.env
  const path = join(options.cwd ?? process.cwd(), '.env')
  let source: string
  try {
    source = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...processEnv }
    throw new ConfigError(`${path} cannot be read: ${(err as Error).message}`)
  }
  checkSyntax(source, path)
  const env: Env = { ...parse(source) }
  for (const [name, value] of Object.entries(processEnv)) if (value !== undefined) env[name] = value
  return env
}

const ASSIGNMENT = /^(?:export\s+)?([\w.-]+)\s*=\s*(.*)$/
const QUOTES = ['"', "'", '`']

/** Index of the first unescaped `q` in `s`, or -1. */
function closingQuote(s: string, q: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === q) i++
    else if (s[i] === q) return i
  }
  return -1
}

/**
 * dotenv's parser skips what it does not understand; a line it would skip
 * silently (a typo, a lost quote) is reported instead: blank lines and
 * `# comments` aside, each line is `KEY=value`, and a quoted value (which may
 * span lines) is closed and followed by nothing but a comment.
 */
function checkSyntax(source: string, path: string): void {
  const lines = source.split(/\r\n|\r|\n/)
  const fail = (index: number, why: string, shown: string): never => {
    throw new ConfigError(`${path} line ${index + 1} is malformed: ${why}; got ${quote(shown.slice(0, 60))}`)
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = ASSIGNMENT.exec(line)
    if (!m) fail(i, 'expected KEY=value', line)
    const [, key, value] = m!
    const q = value![0]
    if (q === undefined || !QUOTES.includes(q)) continue
    let body = value!.slice(1)
    let end = i
    let close = closingQuote(body, q)
    while (close < 0 && end + 1 < lines.length) {
      end++
      body += `\n${lines[end]}`
      close = closingQuote(body, q)
    }
    if (close < 0) fail(i, `the ${q} quote of ${key} is never closed`, line)
    const after = body.slice(close + 1).trim()
    if (after !== '' && !after.startsWith('#')) fail(end, `text after the closing ${q} quote of ${key}`, after)
    i = end
  }
}

/**
 * For entry points: parse the environment (default: `readEnv()`); on a
 * ConfigError print its one line to stderr and exit with code 2. Other errors
 * propagate.
 */
export function loadConfigOrExit<T>(parseConfig: (env: Env) => T, env?: Env): T {
  try {
    return parseConfig(env ?? readEnv())
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }
}
