/** Capped exponential backoff for the loops that retry Redis (tails, replays, cursor writes). */
export function backoffMs(failures: number, baseMs = 50, capMs = 2000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, failures - 1))
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done)
  })
}
