/** The launcher's flags and environment, checked: StackOptions, or the one line that says what is wrong. */
import type { Env, NodeMode } from '../../common/config/index.js'
import { NODE_MODE } from '../../common/config/variables.js'
import { LIMITS, type StackOptions } from './plan.js'

export interface LaunchFlags {
  nodes: number
  proxies: number
  mode: string
  'port-offset': number
}

/** The stack binds loopback only: it is a developer's network (Docker is the way to expose one). */
export const STACK_HOST = '127.0.0.1'

export function launchOptions(flags: LaunchFlags, env: Env): StackOptions | string {
  const { nodes, proxies } = flags
  if (nodes < LIMITS.nodes.min || nodes > LIMITS.nodes.max) return `-nodes ${nodes}: expected ${LIMITS.nodes.min} to ${LIMITS.nodes.max}`
  if (proxies < LIMITS.proxies.min || proxies > LIMITS.proxies.max) {
    return `-proxies ${proxies}: expected ${LIMITS.proxies.min} to ${LIMITS.proxies.max}`
  }
  const given = flags.mode || env.NODE_MODE?.trim() || NODE_MODE.default
  let mode: NodeMode
  try {
    mode = NODE_MODE.kind.parse(given)
  } catch {
    return `${flags.mode ? '-mode' : 'NODE_MODE'} ${JSON.stringify(given)}: expected ${NODE_MODE.accepted}`
  }
  return { nodes, proxies, mode, portOffset: flags['port-offset'], host: STACK_HOST }
}
