import '../common/polyfill.js'
import { multiaddr } from '@multiformats/multiaddr'
import { createFloodCore } from '../node/test/support/flood-core.js'
import { startTestHost } from '../node/test/support/optimum-host.js'
const a = await startTestHost({ createCore: createFloodCore })
const b = await startTestHost({ createCore: createFloodCore })
await a.node.dial(multiaddr(b.addr))
b.optimum!.engine.subscribe('t')
let got = 0
b.optimum!.engine.onMessage(() => got++)
while (a.optimum!.engine.meshPeers('t').length === 0) await new Promise((r) => setTimeout(r, 20))
const size = Number(process.argv[2] ?? 65536), n = Number(process.argv[3] ?? 1000)
const t0 = performance.now()
for (let i = 0; i < n; i++) await a.optimum!.engine.publish('t', new Uint8Array(size), `m${i}`)
const t1 = performance.now()
while (got < n) await new Promise((r) => setTimeout(r, 5))
const t2 = performance.now()
console.log({ publishMs: t1 - t0, totalMs: t2 - t0, MBps: (size * n) / 1e6 / ((t2 - t0) / 1000) })
await a.stop(); await b.stop()
