import '../common/polyfill.js'
import * as grpc from '@grpc/grpc-js'
import { loadConfigOrExit, parseNodeConfig } from '../common/config/index.js'
import { createLogger } from '../common/logger.js'
import { stopOnSignals } from '../common/stop-on-signals.js'
import { readVersionInfo } from '../common/version.js'
import { limitHeapGrowth } from './heap-growth.js'
import { startNode } from './node.js'
import { describeStartupFailure } from './startup-failure.js'

limitHeapGrowth()
const config = loadConfigOrExit(parseNodeConfig)
const log = createLogger('p2pnode', config.logLevel).child(config.clusterId ? { cluster: config.clusterId } : {})

// grpc-js writes its own errors to stderr (e.g. when a bind fails); they belong in the node's log.
const grpcLog = (...args: unknown[]): void => log.debug({ grpc: args.map(String).join(' ') }, 'grpc-js')
grpc.setLogger({ error: grpcLog, info: grpcLog, debug: grpcLog })

let node
try {
  node = await startNode(config, log, readVersionInfo())
} catch (err) {
  // What a user can fix (a port in use, a bad bind host, an unusable identity dir) is one line naming
  // the variable, exit 2 like a bad variable; anything else is a bug and keeps its stack.
  const line = describeStartupFailure(err, config)
  process.stderr.write(`${line ?? `p2pnode: ${(err as Error).stack ?? String(err)}`}\n`)
  process.exit(line === undefined ? 1 : 2)
}

stopOnSignals(() => node.stop(), log)
