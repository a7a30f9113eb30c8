import type { NodeConfig } from '../common/config/index.js'
import { quote } from '../common/config/error.js'
import { isOptimumError } from '../common/errors.js'
import { isIdentityError } from '../common/identity/key-file.js'

/** A server of the node could not bind its address (thrown by SidecarServer.start and ApiServer.start). */
export class ListenError extends Error {
  constructor(
    readonly server: 'sidecar' | 'api',
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(`${server} cannot listen on ${host}:${port}: ${errorText(cause)}`, { cause })
    this.name = 'ListenError'
  }
}

/** What a system error code means to someone starting a node. */
const CAUSES: Record<string, { blame: 'port' | 'host'; sentence: string }> = {
  EADDRINUSE: { blame: 'port', sentence: 'the port is already in use' },
  EACCES: { blame: 'port', sentence: 'permission denied (ports below 1024 need privileges)' },
  EADDRNOTAVAIL: { blame: 'host', sentence: 'no network interface of this machine has that address' },
  ENOTFOUND: { blame: 'host', sentence: 'the host name does not resolve' },
  EAI_AGAIN: { blame: 'host', sentence: 'the host name could not be resolved (DNS did not answer)' },
  EINVAL: { blame: 'host', sentence: 'the address cannot be bound' },
}

/**
 * The one line the node prints when it cannot start for a reason the user can
 * fix: `NAME="value" cannot be used: <what failed>: <why> (<errno>)`, naming
 * the variable at fault. Undefined for anything else (a bug: the caller shows
 * the stack).
 */
export function describeStartupFailure(err: unknown, config: NodeConfig): string | undefined {
  const p2pPort = config.mode === 'optimum' ? 'OPTIMUM_PORT' : 'GOSSIPSUB_PORT'
  if (err instanceof ListenError) {
    const [name, value] = err.server === 'sidecar' ? ['SIDECAR_PORT', config.sidecarPort] : ['API_PORT', config.apiPort]
    return listenLine(err.cause, `the ${err.server === 'sidecar' ? 'sidecar' : 'HTTP API'} cannot listen on ${err.host}:${err.port}`, name, value, config)
  }
  // libp2p's transport manager wraps the listen error of each address it could not bind
  if ((err as Error | undefined)?.name === 'UnsupportedListenAddressesError') {
    return listenLine(err, `libp2p cannot listen on ${config.listenHost}:${config[config.mode].port}`, p2pPort, config[config.mode].port, config)
  }
  // the host name lookup for libp2p's listen address
  if (errnoOf(err) === 'ENOTFOUND' || errnoOf(err) === 'EAI_AGAIN') {
    return listenLine(err, `cannot resolve ${config.listenHost}`, p2pPort, config[config.mode].port, config)
  }
  if (isIdentityError(err)) return `IDENTITY_DIR=${quote(config.identityDir ?? '')} cannot be used: ${err.message}`
  if (isOptimumError(err)) return `p2pnode: ${err.message}`
  return undefined
}

function listenLine(cause: unknown, what: string, portName: string, portValue: number, config: NodeConfig): string {
  const errno = errnoOf(cause)
  const known = errno === undefined ? undefined : CAUSES[errno]
  const [name, value] = known?.blame === 'host' ? ['LISTEN_HOST', config.listenHost] : [portName, String(portValue)]
  const why = known ? `${known.sentence} (${errno})` : errorText(cause)
  return `${name}=${quote(value)} cannot be used: ${what}: ${why}`
}

/** The first system error code (EADDRINUSE…) in an error, its causes or its text (grpc-js and libp2p keep only the text). */
function errnoOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code
    const match = /\b(E[A-Z]{4,}(?:_[A-Z]+)?)\b/.exec(String((e as Error).message ?? ''))
    if (match) return match[1]
  }
  return undefined
}

/** An error's first line, without a stack. */
function errorText(err: unknown): string {
  return String((err as Error | undefined)?.message ?? err).split('\n')[0]!.trim()
}
