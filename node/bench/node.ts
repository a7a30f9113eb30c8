import '../../common/polyfill.js'
import { parseOptions } from './options.js'
import { progressPrinter, runBench } from './run.js'

/**
 * `npm run bench:node [-- --modes=gossipsub,optimum --nodes=8,16 --sizes=1KiB,64KiB,1MiB --quick]`
 *
 * Real node processes on loopback, both modes on the same topology, measuring
 * per message size: latency from publish to the last node's delivery (p50,
 * p99), sustained messages per second, and bytes sent per node per message ÷
 * message size (amplification). See run.ts for the output.
 */
await runBench({ options: parseOptions(process.argv.slice(2)), say: progressPrinter('bench') })
