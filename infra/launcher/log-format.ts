/**
 * One readable line per log line of a service, after its prefix: pino's JSON
 * (`{"level":30,"time":…,"msg":"node started","p2p":7071}`) becomes
 * `22:06:30.540 info  node started p2p=7071`; anything else passes through.
 */

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }
/** Fields every line carries, or the launcher's table already shows. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'peerId', 'v'])

export interface LogLine {
  text: string
  /** pino's numeric level; undefined for a line that is not pino JSON. */
  level?: number
  msg?: string
}

export function formatLogLine(raw: string): LogLine {
  let record: unknown
  try {
    record = raw.startsWith('{') ? JSON.parse(raw) : undefined
  } catch {
    record = undefined
  }
  if (!isRecord(record) || typeof record.level !== 'number' || typeof record.msg !== 'string') return { text: raw }
  const time = typeof record.time === 'number' ? new Date(record.time).toISOString().slice(11, 23) : ''
  const level = (LEVEL_NAMES[record.level] ?? String(record.level)).padEnd(5)
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${showValue(value)}`)
  const text = [time, level, record.msg, ...fields].filter((part) => part !== '').join(' ')
  return { text, level: record.level, msg: record.msg }
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  // pino serialises errors as {type, message, stack}: the message is what a reader needs here.
  if (isRecord(value) && typeof value.message === 'string') return JSON.stringify(value.message)
  return JSON.stringify(value) ?? String(value)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
