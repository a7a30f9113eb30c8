import '../common/polyfill.js'
import { loadKernel } from '../common/rlnc/index.js'
import { parseSimArgs, UsageError, usage, type SimCommand } from './options.js'
import { formatResult, ratios } from './report.js'
import { runSimulation, type SimResult } from './run.js'

/**
 * `npm run sim -- --nodes 1000 --mode both --size 1MiB --messages 100 …`:
 * runs the modelled network in each asked mode on the same seed, prints a
 * summary per mode, and as its last line one JSON object with every figure.
 * Progress goes to stderr.
 */
if (process.argv.includes('--help')) {
  process.stdout.write(`${usage()}\n`)
  process.exit(0)
}
let command: SimCommand
try {
  command = parseSimArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}

const kernel = await loadKernel()
const results: SimResult[] = []
for (const mode of command.modes) {
  const config = { ...command.config, mode }
  const result = runSimulation(config, { kernel, progress: (line) => process.stderr.write(`[sim ${mode}] ${line}\n`) })
  for (const line of formatResult(config, result)) process.stdout.write(`${line}\n`)
  results.push(result)
}
const [first, second] = results
const summary = second === undefined ? { config: command.config, result: first } : { config: command.config, results, ratios: ratios(first, second) }
if (second !== undefined) process.stdout.write(`optimum ÷ gossip: ${JSON.stringify(summary.ratios)}\n`)
process.stdout.write(`${JSON.stringify(summary)}\n`)
