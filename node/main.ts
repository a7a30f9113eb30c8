import '../common/polyfill.js'
import * as grpc from '@grpc/grpc-js'
import { loadConfigOrExit, parseNodeConfig } from '../common/config/index.js'
import { createLogger } from '../common/logger.js'
import { readVersionInfo } from '../common/version.js'
import { startNode } from './node.js'
import { describeStartupFailure } from './startup-failure.js'

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
