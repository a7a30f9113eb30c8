import { OptimumError } from '../../common/errors.js'

/** The longest window a dashboard may ask for; traced messages are kept this long. */
export const MAX_WINDOW_SECONDS = 3600
export const DEFAULT_WINDOW_SECONDS = 10

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 }

/** `?window=` as mump2p-cli sends it (Go durations such as `10s`, `1m`, `500ms`; a bare number is seconds), in whole seconds ≥ 1. */
export function parseWindow(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_WINDOW_SECONDS
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (match === null) {
    throw new OptimumError('invalid_argument', `window ${JSON.stringify(text)} is not a duration such as 10s, 1m or 500ms`)
  }
  const seconds = Number(match[1]) * UNITS[match[2] ?? 's']!
  if (!(seconds > 0) || seconds > MAX_WINDOW_SECONDS) {
    throw new OptimumError('invalid_argument', `window must be more than 0 and at most ${MAX_WINDOW_SECONDS}s`)
  }
  return Math.max(1, Math.round(seconds))
}
