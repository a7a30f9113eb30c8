/**
 * `npm start`: the local network (4 nodes, 2 proxies, Redis) as child
 * processes on the published host ports. Wiring only: flags and environment
 * in, the Stack runs, its exit code out.
 */
import '../../common/polyfill.js'
import { durationFlag, intFlag, parseFlagsOrExit, stringFlag } from '../../common/cli/go-flags.js'
import { ConfigError, readEnv, type Env } from '../../common/config/index.js'
import { NODE_MODE } from '../../common/config/variables.js'
import { launchOptions } from './options.js'
import { Output } from './output.js'
import { LIMITS } from './plan.js'
import { LaunchRefused, Stack } from './stack.js'

const FLAGS = {
  nodes: intFlag(4, `P2P nodes to start (${LIMITS.nodes.min}-${LIMITS.nodes.max})`),
  proxies: intFlag(2, `proxies to start (${LIMITS.proxies.min}-${LIMITS.proxies.max}; 0 = no proxies and no Redis)`),
  mode: stringFlag('', `node protocol, optimum or gossipsub (default: NODE_MODE, else ${NODE_MODE.default})`),
  'port-offset': intFlag(0, 'added to every published port, to run beside another stack'),
  timeout: durationFlag(90_000, 'longest wait for the stack to be ready'),
}

function refuse(message: string, code = 1): never {
  process.stderr.write(`npm start: ${message}\n`)
  process.exit(code)
}

function environment(): Env {
  try {
    return readEnv()
  } catch (err) {
    if (err instanceof ConfigError) refuse(err.message, 2)
    throw err
  }
}

const { values } = parseFlagsOrExit(FLAGS, process.argv.slice(2), 'npm start --')
const env = environment()
const options = launchOptions(values, env)
if (typeof options === 'string') refuse(options, 2)

const stack = new Stack({ options, timeoutMs: values.timeout, cwd: process.cwd(), env }, new Output())
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stack.requestStop(signal))
// `npm start` runs the launcher under `sh -c`: a SIGTERM to npm ends the shell but not us, so its going is a stop too.
const parent = process.ppid
const parentWatch = setInterval(() => {
  if (process.ppid === parent) return
  clearInterval(parentWatch)
  stack.requestStop('the parent process exited')
}, 1_000).unref()
process.on('exit', () => stack.killNow())

try {
  process.exitCode = await stack.run()
} catch (err) {
  if (err instanceof LaunchRefused) refuse(err.message)
  stack.killNow()
  throw err
}
