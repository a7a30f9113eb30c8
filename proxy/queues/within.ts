/** What `within` answers when the promise did not settle in time. */
export const TIMED_OUT: unique symbol = Symbol('timed out')

/** The promise's outcome, or TIMED_OUT after `ms`; a late rejection is then ignored (the caller has moved on). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms)
  })
  try {
    const outcome = await Promise.race([promise, timeout])
    if (outcome === TIMED_OUT) promise.catch(() => {})
    return outcome
  } finally {
    clearTimeout(timer)
  }
}
