import '../../common/polyfill.js'
import { randomBytes } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { intFlag, parseFlagsOrExit, stringFlag } from '../../common/cli/go-flags.js'
import { Cluster, killAllNodesNow, stopAllNodes } from '../../node/bench/cluster.js'
import { freePort } from '../../common/free-port.js'
import { removePrefix } from '../test/support/store.js'
import { ClientPool } from './clients.js'
import { spawnPart, stopPart, waitUntilHealthy } from './processes.js'
import { runStep, type StepResult } from './steps.js'

/**
 * `npm run bench:proxy [-- --clients=100,1000 --rates=25,50,100,200,400,800,1600 --seconds=4 --size=100]`
 *
 * 4 gossipsub node processes, 2 proxy replica processes on one Redis prefix,
 * and for each K: K WebSocket clients on one topic (half on each replica,
 * threshold 0.25: deliverable once one node holds a message). Publishes go
 * through the replicas' REST API at each rate in turn, for --seconds each,
 * until one is not sustained (a delivery still missing 3 s after the last
 * publish, or latency growing during the step: the second half's p50 more
 * than twice the first half's plus 100 ms). Then the same clients and rates against the floor: one plain
 * `ws` server broadcasting what it XREADs from one Redis Stream (the
 * publisher XADDs). Latency is publish → WebSocket frame on this process's
 * clock. The last line is one JSON object.
 */

const PROGRAM = 'bench:proxy'
const FLAGS = {
  clients: stringFlag('100,1000', 'comma-separated client counts K'),
  rates: stringFlag('25,50,100,200,400,800,1600', 'messages per second to try, ascending; the first is the latency rate'),
  seconds: intFlag(4, 'seconds per rate step'),
  size: intFlag(100, 'message size in bytes'),
}
const { values } = parseFlagsOrExit(FLAGS, process.argv.slice(2), PROGRAM)
const numbers = (text: string) => text.split(',').map((t) => Number(t.trim())).filter((n) => Number.isInteger(n) && n > 0)
const clientCounts = numbers(values.clients)
const rates = numbers(values.rates)
if (clientCounts.length === 0 || rates.length === 0 || values.seconds < 1 || values.size < 40) {
  process.stderr.write(`${PROGRAM}: need --clients and --rates as positive integers, --seconds ≥ 1, --size ≥ 40\n`)
  process.exit(2)
}

const began = performance.now()
const say = (line: string) => process.stdout.write(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `bench:proxy:${randomBytes(4).toString('hex')}:`
const dir = await mkdtemp(path.join(os.tmpdir(), 'optimum-bench-proxy-'))
const children: ChildProcess[] = []
process.on('exit', () => {
  killAllNodesNow()
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

say(`starting 4 gossipsub nodes (logs: ${dir})`)
const nodes = await Cluster.start({ mode: 'gossipsub', size: 4, dir, env: {} })
await nodes.waitForPeers(3, 60_000)

const replicas: number[] = []
for (let i = 1; i <= 2; i++) {
  const port = await freePort()
  const child = spawnPart(
    'proxy/main.ts',
    {
      P2P_NODES: nodes.nodes.map((n) => `127.0.0.1:${n.ports.sidecar}`).join(','),
      PROXY_PORT: String(port),
      PROXY_GRPC_PORT: String(await freePort()),
      LISTEN_HOST: '127.0.0.1',
      REDIS_URL,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      CLUSTER_ID: `bench-proxy-${i}`,
    },
    path.join(dir, `proxy-${i}.log`),
  )
  children.push(child)
  await waitUntilHealthy(child, `http://127.0.0.1:${port}/api/v1/health`)
  replicas.push(port)
}
const floorStream = `${prefix}floor`
const floorPort = await freePort()
const floor = spawnPart('proxy/bench/floor-server.ts', { FLOOR_PORT: String(floorPort), REDIS_URL, FLOOR_STREAM: floorStream }, path.join(dir, 'floor.log'))
children.push(floor)
say(`2 replicas on ${replicas.join(', ')}, floor on ${floorPort}`)

const post = async (port: number, route: string, body: unknown) => {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`)
  await response.arrayBuffer()
}

/** A replica's /metrics; asked twice, as a keep-alive socket the server has just closed fails the first try. */
async function metricsText(port: number): Promise<string> {
  const get = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return get().catch(get)
}

/** Sum and count of `optimum_proxy_node_publish_seconds` over both replicas: how long the nodes took to ack. */
async function nodePublishTotals(): Promise<{ sum: number; count: number }> {
  const totals = { sum: 0, count: 0 }
  for (const port of replicas) {
    const text = await metricsText(port)
    for (const [, kind, value] of text.matchAll(/^optimum_proxy_node_publish_seconds_(sum|count)\{[^}]*\} (\S+)$/gm)) {
      totals[kind as 'sum' | 'count'] += Number(value)
    }
  }
  return totals
}

type ClimbStep = StepResult & { node_ack_mean_ms?: number | null }

/** Steps up the rates until one is not sustained; for the proxy, also the nodes' mean publish ack time per step. */
async function climb(label: string, k: number, pool: ClientPool, publish: (body: string) => Promise<unknown>): Promise<ClimbStep[]> {
  const steps: ClimbStep[] = []
  for (const rate of rates) {
    const before = label === 'proxy' ? await nodePublishTotals() : undefined
    const step: ClimbStep = await runStep(rate, values.seconds, values.size, k, pool, publish)
    if (before) {
      const after = await nodePublishTotals()
      const count = after.count - before.count
      step.node_ack_mean_ms = count > 0 ? Math.round(((after.sum - before.sum) / count) * 10_000) / 10 : null
    }
    steps.push(step)
    const ack = step.node_ack_mean_ms === undefined ? '' : `, node ack mean ${step.node_ack_mean_ms} ms`
    say(`${label} K=${k} ${rate} msg/s: ${step.delivered}/${step.expected} delivered, p50 ${step.p50_ms} ms, p99 ${step.p99_ms} ms (to stream p50 ${step.stream_p50_ms} ms, halves ${step.first_half_p50_ms}/${step.second_half_p50_ms} ms, publish p50 ${step.publish_p50_ms} ms${ack})${step.sustained ? '' : ' (not sustained)'}`)
    if (!step.sustained) break
  }
  return steps
}

const best = (steps: ClimbStep[]) => Math.max(0, ...steps.filter((s) => s.sustained).map((s) => s.rate))

const results: Record<string, unknown> = {}
const redis = new Redis(REDIS_URL)
for (const k of clientCounts) {
  const topic = `bench-${k}`
  const ids = Array.from({ length: k }, (_, i) => `bench-${k}-${i}`)
  say(`K=${k}: subscribing ${k} clients`)
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id, j) => post(replicas[(i + j) % 2]!, '/api/v1/subscribe', { client_id: id, topic, threshold: 0.25 })))
  }
  await post(replicas[0]!, '/api/v1/subscribe', { client_id: `publisher-${k}`, topic, threshold: 0.25 })
  await nodes.waitForMesh(topic, 2, 30_000)

  const pool = new ClientPool()
  await pool.open(ids.map((id, i) => `ws://127.0.0.1:${replicas[i % 2]}/api/v1/ws?client_id=${id}`))
  let turn = 0
  const publishProxy = (body: string) =>
    post(replicas[turn++ % 2]!, '/api/v1/publish', { client_id: `publisher-${k}`, topic, message: body })
  await runStep(rates[0]!, 3, values.size, k, pool, publishProxy) // warm-up: tails, caches, connections, JIT
  const proxySteps = await climb('proxy', k, pool, publishProxy)
  await pool.close()

  const floorPool = new ClientPool()
  await floorPool.open(ids.map(() => `ws://127.0.0.1:${floorPort}`))
  const publishFloor = (body: string) => redis.xadd(floorStream, 'MAXLEN', '~', '10000', '*', 'm', Buffer.from(body).toString('base64'))
  await runStep(rates[0]!, 3, values.size, k, floorPool, publishFloor)
  const floorSteps = await climb('floor', k, floorPool, publishFloor)
  await floorPool.close()

  const deliveries = best(proxySteps) * k
  const floorDeliveries = best(floorSteps) * k
  results[String(k)] = {
    deliveries_per_s: deliveries,
    floor_deliveries_per_s: floorDeliveries,
    ratio: floorDeliveries > 0 ? Math.round((deliveries / floorDeliveries) * 100) / 100 : null,
    p50_ms: proxySteps[0]!.p50_ms,
    p99_ms: proxySteps[0]!.p99_ms,
    floor_p50_ms: floorSteps[0]!.p50_ms,
    floor_p99_ms: floorSteps[0]!.p99_ms,
    latency_rate: rates[0],
    steps: { proxy: proxySteps, floor: floorSteps },
  }
}

redis.disconnect()
await Promise.all(children.map((child) => stopPart(child)))
await stopAllNodes()
await removePrefix(REDIS_URL, prefix)
say('done')
process.stdout.write(`${JSON.stringify({ bench: 'proxy', nodes: 4, replicas: 2, size: values.size, seconds_per_step: values.seconds, results })}\n`)
process.exit(0)
