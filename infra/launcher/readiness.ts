/**
 * When the stack is ready: every node and proxy API answers its health check
 * and every node is connected to enough peers that the mesh can form
 * (GET /api/v1/node-state, the same endpoints an operator would look at).
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { NodePlan, ProxyPlan } from './plan.js'

const POLL_MS = 250
const REQUEST_TIMEOUT_MS = 2_000

export interface NodeStatus {
  peerId: string
  peers: number
}

export class NotReady extends Error {}

interface Watch {
  /** A service that has exited, if any: the wait ends at once. */
  exited(): string | undefined
}

async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    if (!response.ok) return undefined
    const body: unknown = await response.json()
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

export async function nodeStatus(host: string, node: NodePlan): Promise<NodeStatus | undefined> {
  const state = await getJson(`http://${urlHost(host)}:${node.ports.api}/api/v1/node-state`)
  if (typeof state?.pub_key !== 'string' || !Array.isArray(state.peers)) return undefined
  return { peerId: state.pub_key, peers: state.peers.length }
}

export async function proxyHealthy(host: string, proxy: ProxyPlan): Promise<boolean> {
  const health = await getJson(`http://${urlHost(host)}:${proxy.ports.http}/api/v1/health`)
  return health?.status === 'ok'
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/**
 * Polls until `check` returns a value; throws NotReady with `behind()`'s words
 * at the deadline, or as soon as a watched service exits.
 */
export async function waitUntil<T>(
  deadline: number,
  watch: Watch,
  check: () => Promise<T | undefined>,
  behind: () => string,
): Promise<T> {
  for (;;) {
    const exited = watch.exited()
    if (exited) throw new NotReady(exited)
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new NotReady(behind())
    await delay(POLL_MS)
  }
}

/** Peers each node must see before the stack counts as formed: all others, up to the mode's mesh minimum. */
export function wantedPeers(nodes: number, meshMin: number): number {
  return Math.min(nodes - 1, meshMin)
}
