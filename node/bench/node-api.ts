/**
 * What the bench reads from a node's HTTP API (node/api/routes.ts): the same
 * endpoints an operator or Prometheus would use, nothing private.
 */

const REQUEST_TIMEOUT_MS = 5_000

/** Where a node's HTTP API answers. */
export interface ApiAddress {
  host: string
  ports: { api: number }
}

async function get(node: ApiAddress, path: string): Promise<Response> {
  const where = `${node.host}:${node.ports.api}`
  const response = await fetch(`http://${where}${path}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).catch((err: Error) => {
    const why = err.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : err.message
    throw new Error(`GET ${path} on ${where}: ${why}`)
  })
  if (!response.ok) throw new Error(`GET ${path} on ${where}: HTTP ${response.status}`)
  return response
}

export interface NodeState {
  pub_key: string
  peers: string[]
}

export async function nodeState(node: ApiAddress): Promise<NodeState> {
  return (await (await get(node, '/api/v1/node-state')).json()) as NodeState
}

export async function meshPeerCount(node: ApiAddress, topic: string): Promise<number> {
  const body = (await (await get(node, '/api/v1/topics')).json()) as { topics: Array<{ topic: string; mesh_peers: string[] }> }
  return body.topics.find((entry) => entry.topic === topic)?.mesh_peers.length ?? 0
}

const BYTES_SENT = /^optimum_node_bytes_sent_total(?:\{[^}]*\})?\s+(\S+)/m

/** `optimum_node_bytes_sent_total`: bytes this node has put on libp2p connections since it started. */
export async function bytesSent(node: ApiAddress): Promise<number> {
  const text = await (await get(node, '/metrics')).text()
  const match = BYTES_SENT.exec(text)
  if (!match) throw new Error(`${node.host}:${node.ports.api}: /metrics has no optimum_node_bytes_sent_total`)
  return Number(match[1])
}

/** Gauges read at the soak's checkpoints: where a node's memory is (heap, buffers) and what the optimum core holds. */
const MEMORY_GAUGES = {
  heap_used: 'optimum_node_nodejs_heap_size_used_bytes',
  external: 'optimum_node_nodejs_external_memory_bytes',
  message_states: 'optimum_node_message_states',
  deferred: 'optimum_node_deferred_messages',
} as const

export type MemoryGauges = Partial<Record<keyof typeof MEMORY_GAUGES, number>>

export async function memoryGauges(node: ApiAddress): Promise<MemoryGauges> {
  const text = await (await get(node, '/metrics')).text()
  const out: MemoryGauges = {}
  for (const [key, name] of Object.entries(MEMORY_GAUGES) as Array<[keyof typeof MEMORY_GAUGES, string]>) {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text)
    if (match) out[key] = Number(match[1])
  }
  return out
}
