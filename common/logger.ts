import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }
export type LogLevel = LevelWithSilent

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/**
 * One JSON line per event on stdout (pino's default destination); `name` tells
 * apart the parts that share a process (a node, its sidecar, its API).
 */
export function createLogger(name: string, level: LogLevel = 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } })
}

/** A logger that writes nothing: for tests and for objects built without one. */
export const silentLogger: Logger = pino({ level: 'silent' })
