/** A sink that records what the hub sends it, and helpers that play the nodes' part. */
import type { Attachment, CloseCode, Delivery, DeliverySink, GapNotice } from '../../delivery/types.js'
import type { ProxyStore } from '../../store/store.js'
import { waitFor } from './redis-server.js'

export class RecordingSink implements DeliverySink {
  /** Deliveries written to the "transport", in order. */
  readonly delivered: Delivery[] = []
  readonly gaps: GapNotice[] = []
  closed: { code: CloseCode; reason: string } | undefined
  attachment: Attachment | undefined
  /** Pushed but not yet written (when `autoSend` is off). */
  private readonly queued: Delivery[] = []

  /**
   * `autoSend`: write each delivery at once (confirming it with `sent`);
   * otherwise write the first `sendFirst` and then queue up to `capacity`
   * unsent ones before push returns false (a client that stopped reading).
   */
  constructor(private readonly options: { capacity?: number; autoSend?: boolean; sendFirst?: number } = {}) {}

  push(delivery: Delivery): boolean {
    if ((this.options.autoSend ?? true) || this.delivered.length < (this.options.sendFirst ?? 0)) {
      this.delivered.push(delivery)
      // Like a ws send callback: confirmed a little later, not inside push.
      queueMicrotask(() => this.attachment?.sent(delivery))
      return true
    }
    if (this.queued.length >= (this.options.capacity ?? Infinity)) return false
    this.queued.push(delivery)
    return true
  }

  gap(notice: GapNotice): boolean {
    this.gaps.push(notice)
    return true
  }

  close(code: CloseCode, reason: string): void {
    this.closed = { code, reason }
  }

  /** Write `count` queued deliveries (the slow client finally reads some). */
  send(count: number): void {
    for (const delivery of this.queued.splice(0, count)) {
      this.delivered.push(delivery)
      this.attachment?.sent(delivery)
    }
  }

  ids(): string[] {
    return this.delivered.map((d) => d.messageId)
  }

  async waitForCount(count: number, timeoutMs = 15_000): Promise<void> {
    await waitFor(`${count} deliveries (have ${this.delivered.length})`, async () => (this.delivered.length >= count ? true : undefined), timeoutMs)
  }
}

/** What the node connections do when `nodes` nodes deliver a message. */
export async function arrive(store: ProxyStore, topic: string, messageId: string, nodes: number, firstNode = 0): Promise<void> {
  for (let n = firstNode; n < firstNode + nodes; n++) {
    await store.recordArrival({ node: `node-${n}`, messageId, topic, data: new TextEncoder().encode(`payload ${messageId}`), source: 'peer-source' })
  }
}

export function text(delivery: Delivery): string {
  return new TextDecoder().decode(delivery.data)
}
