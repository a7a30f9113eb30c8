import '../../common/polyfill.js'
import { floatFlag } from '../../common/cli/go-flags.js'
import { failFlag, parseBenchFlags } from './options.js'
import { progressPrinter, runBench } from './run.js'
import { MAX_NODES, removeStaleNetworks, TbfNetwork, tbfUnavailable } from './tbf-network.js'

/**
 * `npm run bench:tbf [-- --rate=50 --nodes=16 --sizes=64KiB,1MiB --modes=gossipsub,optimum --quick]`
 *
 * bench:node's scenario with every node in a network namespace of its own
 * whose link is capped by tc tbf in both directions (tbf-network.ts), so
 * that bandwidth, not the loopback's memory copies, limits how fast a
 * message spreads. Needs root; without it, one line says so and it exits 0.
 * Every namespace and link it made is gone when it exits, also on Ctrl-C.
 */
const PROGRAM = 'bench:tbf'
const { options, extra } = parseBenchFlags(process.argv.slice(2), PROGRAM, { nodes: '16', sizes: '64KiB,1MiB' }, {
  rate: floatFlag(50, 'upload and download cap of every node, in Mbit/s'),
})
if (!(extra.rate > 0 && extra.rate <= 100_000)) failFlag(PROGRAM, `invalid --rate ${extra.rate}: expected Mbit/s above 0, up to 100000`)
const nodes = Math.max(...options.nodeCounts)
if (nodes > MAX_NODES) failFlag(PROGRAM, `at most ${MAX_NODES} nodes`)

const unavailable = tbfUnavailable()
if (unavailable !== undefined) {
  process.stdout.write(`${PROGRAM}: skipped: ${unavailable}\n`)
  process.exit(0)
}

const say = progressPrinter('tbf')
for (const name of removeStaleNetworks()) say(`removed namespace ${name}, left by a run that is gone`)
let network: TbfNetwork
try {
  network = TbfNetwork.create({ nodes, rateMbit: extra.rate })
} catch (err) {
  process.stderr.write(`${PROGRAM}: cannot build the network: ${(err as Error).message}\n`)
  process.exit(1)
}
say(
  `network up: namespaces ${network.namespace(1)}…${network.namespace(nodes)} on a bridge in ${network.hub}, ` +
    `each node capped at ${extra.rate} Mbit/s up and down (tc tbf); the bench at ${network.benchAddress}, not capped`,
)
await runBench({
  options,
  say,
  placement: network.placement,
  meta: { rate_mbit: extra.rate },
  cleanup: () => network.destroy(),
  linkCounters: () => network.counters(),
})
