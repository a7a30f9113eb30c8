import '../common/polyfill.js'
import { loadConfigOrExit, parseNodeConfig } from '../common/config/index.js'
import { isOptimumError } from '../common/errors.js'
import { createLogger } from '../common/logger.js'
import { readVersionInfo } from '../common/version.js'
import { startNode } from './node.js'

const config = loadConfigOrExit(parseNodeConfig)
const log = createLogger('p2pnode', config.logLevel).child(config.clusterId ? { cluster: config.clusterId } : {})

let node
try {
  node = await startNode(config, log, readVersionInfo())
} catch (err) {
  // Start-up refusals (optimum mode not built, a damaged key file, a port in use) are one clear line.
  process.stderr.write(`p2pnode: ${isOptimumError(err) ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exit(1)
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130) // a second Ctrl-C: stop waiting
    stopping = true
    log.info({ signal }, 'stopping')
    const deadline = setTimeout(() => process.exit(1), 15_000).unref()
    node.stop().then(
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
