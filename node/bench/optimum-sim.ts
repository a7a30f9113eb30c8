/**
 * The optimum protocol core on the in-memory network, against
 * store-and-forward flooding on the same topology (k = 1, every shard to
 * every mesh peer: what gossipsub with IDONTWANT does). Virtual time, so the
 * numbers are the protocol's, not this machine's. Not a test; asserts nothing.
 *
 *   node --import tsx node/bench/optimum-sim.ts [--nodes 64] [--degree 6] [--size 65536]
 *     [--messages 5] [--upload 2000] [--slow-every 3] [--delay 10] [--seed 5] [--fanout 2]
 *
 * `--upload` is bytes per ms of each node's uplink (0: unlimited); every
 * `--slow-every`-th node has a quarter of it. Messages go one after the
 * other from different publishers. The last line is one JSON object.
 */
import { parseArgs } from 'node:util'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { deliveredEverywhere, network, payload, randomGraph } from '../test/support/optimum-fixtures.js'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '64' },
    degree: { type: 'string', default: '6' },
    size: { type: 'string', default: '65536' },
    messages: { type: 'string', default: '5' },
    upload: { type: 'string', default: '2000' },
    'slow-every': { type: 'string', default: '3' },
    delay: { type: 'string', default: '10' },
    seed: { type: 'string', default: '5' },
    fanout: { type: 'string', default: '2' },
  },
})
const n = Number(values.nodes)
const degree = Number(values.degree)
const size = Number(values.size)
const messages = Number(values.messages)
const upload = Number(values.upload)
const slowEvery = Number(values['slow-every'])

interface Result {
  p50: number
  p99: number
  max: number
  amplification: number
  lost: number
}

function run(kernel: Kernel, mode: 'optimum' | 'flood'): Result {
  const flood = mode === 'flood'
  const net = network(kernel, {
    seed: Number(values.seed),
    delayMs: Number(values.delay),
    core: {
      mesh: { min: Math.max(1, degree - 2), target: degree, max: degree * 2 },
      ...(flood ? { shardFactor: 1, shardMultiplier: 1 } : {}),
      limits: { relayFanout: flood ? Number.MAX_SAFE_INTEGER : Number(values.fanout) },
    },
  })
  const nodes = Array.from({ length: n }, (_, i) =>
    net.addNode(`n${i}`, upload > 0 ? { uploadBytesPerMs: slowEvery > 0 && i % slowEvery === 0 ? upload / 4 : upload } : {}),
  )
  for (const node of nodes) node.core.subscribe('t')
  for (const [a, b] of randomGraph(net, n, degree)) net.connect(`n${a}`, `n${b}`)
  net.runFor(5000)
  const before = nodes.map((node) => node.bytesSent)
  const latencies: number[] = []
  let lost = 0
  for (let i = 0; i < messages; i++) {
    const publisher = nodes[(i * 9) % n]
    const id = `m${i}`
    const start = net.now
    publisher.core.publish('t', payload(size, i), id)
    const seen = new Set<string>()
    const done = net.runUntil(() => {
      for (const node of nodes) if (!seen.has(node.key) && node.delivered.some((d) => d.id === id)) {
        seen.add(node.key)
        latencies.push(net.now - start)
      }
      return seen.size === n - 1
    }, 60_000)
    if (!done || !deliveredEverywhere(nodes, id, [publisher])) lost++
    net.runFor(200)
  }
  const sent = nodes.reduce((sum, node, i) => sum + node.bytesSent - before[i], 0)
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? -1)
  return { p50: at(0.5), p99: at(0.99), max: Math.round(latencies.at(-1) ?? -1), amplification: +(sent / n / messages / size).toFixed(2), lost }
}

const kernel = await loadKernel()
const optimum = run(kernel, 'optimum')
const flood = run(kernel, 'flood')
for (const [name, r] of [['optimum', optimum], ['flood', flood]] as const) {
  console.log(`${name.padEnd(8)} p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms  amplification ${r.amplification}  lost ${r.lost}`)
}
console.log(
  JSON.stringify({
    nodes: n,
    degree,
    size,
    messages,
    upload,
    optimum,
    flood,
    ratio: { p99: +(optimum.p99 / flood.p99).toFixed(2), amplification: +(optimum.amplification / flood.amplification).toFixed(2) },
  }),
)
