import type { Logger } from '../../common/logger.js'
import type { TraceEvent as CoreTraceEvent } from '../optimum/types.js'
import { BoundedMap } from './bounded-map.js'
import type { NodeTrace, TraceListener } from './types.js'

/**
 * Message ids whose topic is remembered, so events that carry only the id
 * (duplicate shards) find their topic. The core names the topic while it
 * holds the message (5 s past the decode), so this only covers what comes
 * later, and a map sized for minutes would be one of the largest things a
 * node keeps per message.
 */
const TOPIC_MEMORY = 4096

/**
 * Where a node's protocol events meet their readers (the sidecar's trace
 * streams, the p2p snapshot). The mode's source calls `emit`; the tap stamps
 * the wall clock, fills in a message's topic when the source left it out, and
 * hands the event to every listener. A listener that throws is logged and
 * does not stop the others or the protocol.
 */
export class TraceTap {
  private readonly listeners = new Set<TraceListener>()
  private readonly topics = new BoundedMap<string, string>(TOPIC_MEMORY)

  constructor(private readonly log: Logger) {}

  onTrace(listener: TraceListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(event: Omit<NodeTrace, 'time'>): void {
    const traced: NodeTrace = { ...event, time: Date.now() }
    if (traced.messageId !== undefined) {
      if (traced.topic !== undefined) this.topics.set(traced.messageId, traced.topic)
      else traced.topic = this.topics.get(traced.messageId)
    }
    for (const listener of this.listeners) {
      try {
        listener(traced)
      } catch (err) {
        this.log.error({ err, kind: traced.kind }, 'trace listener failed')
      }
    }
  }

  /** The optimum core's trace output (its clock is monotonic: the tap's wall clock replaces it). */
  readonly fromCore = (event: CoreTraceEvent): void => {
    const { at: _monotonic, ...rest } = event
    this.emit(rest)
  }
}
