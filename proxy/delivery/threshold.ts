/**
 * Deliverability: a message is deliverable to a client once
 * `ceil(threshold × N)` nodes hold it (at least 1), N being the number of
 * nodes in P2P_NODES. Each count level of a message appears exactly once in
 * its topic's stream, so a client takes the event whose count equals its need.
 */

/** Nodes that must hold a message before a client with `threshold` gets it. */
export function nodesNeeded(threshold: number, nodeCount: number): number {
  // 0.7 × 10 is 7.000000000000001 in binary floating point: that must stay 7.
  const exact = Math.ceil(threshold * nodeCount - 1e-9)
  return Math.min(Math.max(1, exact), Math.max(1, nodeCount))
}

/** The event "reached `nodes` nodes" is the one that delivers to this client. */
export function deliversAt(nodes: number, threshold: number, nodeCount: number): boolean {
  return nodes === nodesNeeded(threshold, nodeCount)
}
