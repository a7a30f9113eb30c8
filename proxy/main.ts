import '../common/polyfill.js'
import { loadConfigOrExit, parseProxyConfig } from '../common/config/index.js'
import { isOptimumError } from '../common/errors.js'
import { createLogger } from '../common/logger.js'
import { stopOnSignals } from '../common/stop-on-signals.js'
import { startProxy } from './proxy.js'

const config = loadConfigOrExit(parseProxyConfig)
const log = createLogger('proxy', config.logLevel).child(config.clusterId ? { cluster: config.clusterId } : {})

try {
  const proxy = await startProxy(config, log)
  stopOnSignals(() => proxy.stop(), log)
} catch (err) {
  // Start-up refusals (a port in use, auth not available) are one clear line.
  process.stderr.write(`proxy: ${isOptimumError(err) ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exit(1)
}
