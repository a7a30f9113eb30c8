import type { PubSubEngine } from '../pubsub/engine.js'

/**
 * Which sidecar streams want which topics. The node holds a mesh subscription
 * while at least one stream wants the topic: `engine.subscribe` runs when the
 * first holder arrives and `engine.unsubscribe` after the last one leaves
 * (unsubscribes, half-closes, cancels or disconnects). A holder that adds a
 * topic twice holds it once. The holder sets double as the fan-out lists.
 */
export class TopicRefs<H> {
  private readonly holders = new Map<string, Set<H>>()

  constructor(private readonly engine: Pick<PubSubEngine, 'subscribe' | 'unsubscribe'>) {}

  /** True when `holder` did not hold `topic` before. Throws (and changes nothing) if engine.subscribe throws. */
  add(topic: string, holder: H): boolean {
    let set = this.holders.get(topic)
    if (set?.has(holder)) return false
    if (set === undefined) {
      this.engine.subscribe(topic)
      set = new Set()
      this.holders.set(topic, set)
    }
    set.add(holder)
    return true
  }

  /** True when `holder` held `topic`. Unsubscribes the engine when it was the last holder. */
  remove(topic: string, holder: H): boolean {
    const set = this.holders.get(topic)
    if (set === undefined || !set.delete(holder)) return false
    if (set.size === 0) {
      this.holders.delete(topic)
      this.engine.unsubscribe(topic)
    }
    return true
  }

  /** The streams that want `topic` (live view; do not mutate). */
  holdersOf(topic: string): ReadonlySet<H> | undefined {
    return this.holders.get(topic)
  }

  count(topic: string): number {
    return this.holders.get(topic)?.size ?? 0
  }

  topics(): string[] {
    return [...this.holders.keys()]
  }
}
