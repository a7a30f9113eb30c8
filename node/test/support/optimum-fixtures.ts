import { seededRandomBytes, type Kernel } from '../../../common/rlnc/index.js'
import type { CoreOptions } from '../../optimum/types.js'
import { MemoryNetwork, type MemoryNetworkOptions, type MemoryNode } from './memory-network.js'

export const CORE: CoreOptions = {
  mesh: { min: 4, target: 6, max: 12 },
  shardFactor: 4,
  shardMultiplier: 1.5,
  threshold: 0.75,
  maxMessageSize: 1024 * 1024,
  heartbeatMs: 700,
}

export function payload(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size)
  seededRandomBytes(seed)(bytes)
  return bytes
}

export function network(kernel: Kernel, overrides: Omit<Partial<MemoryNetworkOptions>, 'core'> & { core?: Partial<CoreOptions> } = {}): MemoryNetwork {
  return new MemoryNetwork({ seed: 1, kernel, ...overrides, core: { ...CORE, ...overrides.core } })
}

/** n nodes n0..n(n-1), all subscribed to `topic`, connected by `edges`; runs until meshes settle. */
export function build(net: MemoryNetwork, n: number, edges: Array<[number, number]>, topic: string, settleMs = 3000): MemoryNode[] {
  const nodes = Array.from({ length: n }, (_, i) => net.addNode(`n${i}`))
  for (const node of nodes) node.core.subscribe(topic)
  for (const [a, b] of edges) net.connect(`n${a}`, `n${b}`)
  net.runFor(settleMs)
  return nodes
}

/** Meshes form on a network without scheduled heartbeats (`heartbeats: false`): a few heartbeats by hand. */
export function formMeshes(net: MemoryNetwork, nodes: MemoryNode[]): void {
  for (let i = 0; i < 3; i++) {
    for (const node of nodes) node.core.heartbeat()
    net.runFor(100)
  }
}

/** A random connected graph: a random spanning tree plus extra random edges up to `degree` on average. */
export function randomGraph(net: MemoryNetwork, n: number, degree: number): Array<[number, number]> {
  const edges: Array<[number, number]> = []
  const seen = new Set<string>()
  const add = (a: number, b: number): void => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`
    if (a === b || seen.has(key)) return
    seen.add(key)
    edges.push([a, b])
  }
  for (let i = 1; i < n; i++) add(i, net.int(i))
  while (edges.length < (n * degree) / 2) add(net.int(n), net.int(n))
  return edges
}

export function deliveredEverywhere(nodes: MemoryNode[], id: string, except: MemoryNode[] = []): boolean {
  return nodes.every((node) => except.includes(node) || node.delivered.some((d) => d.id === id))
}
