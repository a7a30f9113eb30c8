import { setTimeout as delay } from 'node:timers/promises'
import { percentile, round } from '../../node/bench/stats.js'
import { timedBody, type ClientPool } from './clients.js'

export interface StepResult {
  rate: number
  sent: number
  expected: number
  delivered: number
  p50_ms: number | null
  p99_ms: number | null
  /** How long a publish call took (REST answer, XADD reply). */
  publish_p50_ms: number | null
  publish_p99_ms: number | null
  /** Every delivery arrived within the drain time and p99 stayed under RUNAWAY_P99_MS. */
  sustained: boolean
}

/** Latency past this means the path no longer keeps up. */
export const RUNAWAY_P99_MS = 1_000
/** Deliveries still missing this long after the last publish mean the same. */
const DRAIN_MS = 3_000
/** Publishes in flight at once: more means the publisher itself is the bottleneck. */
const MAX_IN_FLIGHT = 256

/**
 * Publishes `rate` messages per second for `seconds` through `publish`, then
 * waits for the `clients` × sent deliveries, and reports latency and whether
 * the rate was sustained.
 */
export async function runStep(
  rate: number,
  seconds: number,
  size: number,
  clients: number,
  pool: ClientPool,
  publish: (body: string) => Promise<unknown>,
): Promise<StepResult> {
  pool.take()
  const start = Date.now()
  let sent = 0
  let inFlight = 0
  let failed = 0
  const publishTimes: number[] = []
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate)
    while (sent < due && inFlight < MAX_IN_FLIGHT) {
      inFlight++
      sent++
      const began = performance.now()
      publish(timedBody(sent, size)).then(
        () => {
          inFlight--
          publishTimes.push(performance.now() - began)
        },
        () => {
          inFlight--
          failed++
        },
      )
    }
    await delay(2)
  }
  const expected = (sent - failed) * clients
  const drainUntil = Date.now() + DRAIN_MS
  while ((inFlight > 0 || pool.delivered < expected) && Date.now() < drainUntil) await delay(20)
  const { latencies, delivered } = pool.take()
  const p50 = percentile(latencies, 50)
  const p99 = percentile(latencies, 99)
  const ms = (value: number | undefined) => (value === undefined ? null : round(value, 1))
  return {
    rate,
    sent,
    expected,
    delivered,
    p50_ms: ms(p50),
    p99_ms: ms(p99),
    publish_p50_ms: ms(percentile(publishTimes, 50)),
    publish_p99_ms: ms(percentile(publishTimes, 99)),
    sustained: failed === 0 && delivered >= expected && p99 !== undefined && p99 < RUNAWAY_P99_MS,
  }
}
