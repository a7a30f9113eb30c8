import type { DeliveryTracker } from './deliveries.js'
import type { SidecarTap } from './sidecar-tap.js'

export interface PhaseContext {
  tracker: DeliveryTracker
  /** Node 2: a publisher other than the bootstrap node, which every other node is connected to. */
  publisher: SidecarTap
  topic: string
}

export interface LatencyResult {
  /** Publish call start to the last node's delivery, per message that reached every node. */
  samplesMs: number[]
  /** Messages that did not reach every node within the timeout (or whose publish failed). */
  lost: number
  firstError?: string
}

/**
 * Publishes `count` messages one at a time, each only once the previous one
 * has reached every node (or timed out), so each sample is one message's
 * trip through an otherwise idle network.
 */
export async function measureLatency(
  { tracker, publisher, topic }: PhaseContext,
  payload: Buffer,
  count: number,
  idPrefix: string,
  timeoutMs: number,
): Promise<LatencyResult> {
  const result: LatencyResult = { samplesMs: [], lost: 0 }
  for (let i = 0; i < count; i++) {
    const batch = tracker.expect([`${idPrefix}-${i}`])
    const start = performance.now()
    const error = await publisher.publish(topic, payload, batch.ids[0]!, timeoutMs).then(
      () => undefined,
      (err: Error) => err.message,
    )
    const complete = error === undefined && (await batch.wait(Math.max(0, timeoutMs - (performance.now() - start))))
    tracker.release(batch)
    if (complete) {
      result.samplesMs.push(batch.lastAt - start)
    } else {
      result.lost++
      const late = `message ${batch.ids[0]} reached ${batch.delivered} of ${tracker.nodeCount} nodes in ${timeoutMs / 1000} s`
      result.firstError ??= error ?? `${late} (${batch.shortfall()})`
    }
  }
  return result
}

export interface ThroughputResult {
  /** Messages that reached every node, per second from the first publish to the last delivery. */
  msgsPerS: number
  seconds: number
  /** (message, node) deliveries still missing after the wait. */
  missing: number
  firstError?: string
}

/**
 * Publishes `count` messages with up to `window` unary publishes in flight
 * (as fast as the node acknowledges them) and waits, up to `waitMs` after the
 * last acknowledgement, for every node to deliver every message.
 */
export async function measureThroughput(
  { tracker, publisher, topic }: PhaseContext,
  payload: Buffer,
  count: number,
  window: number,
  idPrefix: string,
  waitMs: number,
): Promise<ThroughputResult> {
  const batch = tracker.expect(Array.from({ length: count }, (_, i) => `${idPrefix}-${i}`))
  let next = 0
  let firstError: string | undefined
  const start = performance.now()
  const worker = async (): Promise<void> => {
    while (next < count) {
      const id = batch.ids[next++]!
      await publisher.publish(topic, payload, id, waitMs).catch((err: Error) => {
        firstError ??= `publish of ${id} failed: ${err.message}`
      })
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker))
  await batch.wait(waitMs)
  tracker.release(batch)
  const seconds = (batch.lastAt - start) / 1000
  const missing = count * tracker.nodeCount - batch.delivered
  if (missing > 0) {
    const reached = `${batch.complete} of ${count} messages reached every node within ${waitMs / 1000} s of the last publish`
    firstError ??= `${reached} (${batch.shortfall()})`
  }
  return { msgsPerS: seconds > 0 ? batch.complete / seconds : 0, seconds, missing, firstError }
}
