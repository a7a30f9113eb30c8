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
  /** p50 of publish → the message's event in the topic stream (the rest of p50_ms is stream → WebSocket frame). */
  stream_p50_ms: number | null
  /** How long a publish call took (REST answer, XADD reply). */
  publish_p50_ms: number | null
  publish_p99_ms: number | null
  /** p50 of the messages published in the first and in the second half of the step. */
  first_half_p50_ms: number | null
  second_half_p50_ms: number | null
  /** Every delivery arrived within the drain time, and latency did not grow during the step (a queue building up). */
  sustained: boolean
}

/** Latency runs away when the second half's p50 exceeds the first half's by this factor plus RUNAWAY_SLACK_MS. */
const RUNAWAY_FACTOR = 2
const RUNAWAY_SLACK_MS = 100
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
  const { sentAts, latencies, toStream, delivered } = pool.take()
  const p50 = percentile(latencies, 50)
  const p99 = percentile(latencies, 99)
  const middle = start + (seconds * 1000) / 2
  const firstHalf = percentile(latencies.filter((_, i) => sentAts[i]! < middle), 50)
  const secondHalf = percentile(latencies.filter((_, i) => sentAts[i]! >= middle), 50)
  const runaway = firstHalf === undefined || secondHalf === undefined || secondHalf > RUNAWAY_FACTOR * firstHalf + RUNAWAY_SLACK_MS
  const ms = (value: number | undefined) => (value === undefined ? null : round(value, 1))
  return {
    rate,
    sent,
    expected,
    delivered,
    p50_ms: ms(p50),
    p99_ms: ms(p99),
    stream_p50_ms: ms(percentile(toStream, 50)),
    publish_p50_ms: ms(percentile(publishTimes, 50)),
    publish_p99_ms: ms(percentile(publishTimes, 99)),
    first_half_p50_ms: ms(firstHalf),
    second_half_p50_ms: ms(secondHalf),
    sustained: failed === 0 && delivered >= expected && !runaway,
  }
}
