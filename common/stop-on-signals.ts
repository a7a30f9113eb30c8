import type { Logger } from './logger.js'

/**
 * SIGINT/SIGTERM stop a long-running part gracefully: `stop()` gets
 * `deadlineMs`, then the process exits (0 when it stopped cleanly). A second
 * signal exits at once.
 */
export function stopOnSignals(stop: () => Promise<void>, log: Logger, deadlineMs = 15_000): void {
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130)
      stopping = true
      log.info({ signal }, 'stopping')
      const deadline = setTimeout(() => process.exit(1), deadlineMs).unref()
      stop().then(
        () => {
          clearTimeout(deadline)
          log.info('stopped')
          process.exit(0)
        },
        (err: unknown) => {
          log.error({ err }, 'stop failed')
          process.exit(1)
        },
      )
    })
  }
}
