/** A set of messages the bench waits for on every node. */
export class Batch {
  /** (message, node) deliveries seen so far. */
  delivered = 0
  /** Messages every node has delivered. */
  complete = 0
  /** `performance.now()` of the latest delivery. */
  lastAt = 0
  /** Deliveries per node (index 0 is node 1). */
  private readonly perNode: number[]
  private resolveDone!: () => void
  private readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve
  })

  constructor(
    readonly ids: readonly string[],
    nodeCount: number,
  ) {
    this.perNode = new Array<number>(nodeCount).fill(0)
  }

  /** Which nodes fell short, e.g. `node 1 missed 91`: tells a node that dropped out from general loss. */
  shortfall(): string {
    const short = this.perNode.flatMap((count, i) =>
      count < this.ids.length ? [`node ${i + 1} missed ${this.ids.length - count}`] : [],
    )
    return short.length > 0 ? short.join(', ') : 'none'
  }

  /** Resolves true once every node has delivered every message, false after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<boolean> {
    if (this.complete === this.ids.length) return true
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    try {
      return await Promise.race([this.done.then(() => true), timedOut])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Called by DeliveryTracker for each first delivery of one of the batch's messages on a node. */
  add(node: number, at: number, messageComplete: boolean): void {
    this.delivered++
    this.perNode[node - 1]!++
    this.lastAt = at
    if (messageComplete && ++this.complete === this.ids.length) this.resolveDone()
  }
}

interface Entry {
  batch: Batch
  nodes: Set<number>
}

/**
 * Matches the deliveries every node's sidecar reports to the messages the
 * bench is waiting for. Deliveries of messages no batch waits for (a warm-up
 * or timed-out message arriving late) are ignored; a node delivering the same
 * message twice is counted, since the node promises once per id.
 */
export class DeliveryTracker {
  duplicates = 0
  private readonly entries = new Map<string, Entry>()

  constructor(readonly nodeCount: number) {}

  /** Starts waiting for `ids` on every node; call before publishing them. */
  expect(ids: readonly string[]): Batch {
    const batch = new Batch(ids, this.nodeCount)
    for (const id of ids) this.entries.set(id, { batch, nodes: new Set() })
    return batch
  }

  /** Stops waiting for the batch's messages. */
  release(batch: Batch): void {
    for (const id of batch.ids) this.entries.delete(id)
  }

  readonly record = (node: number, id: string, at: number): void => {
    const entry = this.entries.get(id)
    if (entry === undefined) return
    if (entry.nodes.has(node)) {
      this.duplicates++
      return
    }
    entry.nodes.add(node)
    entry.batch.add(node, at, entry.nodes.size === this.nodeCount)
  }
}
