import * as grpc from '@grpc/grpc-js'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { clientChannelOptions, MIN_KEEPALIVE_INTERVAL_MS } from '../../common/grpc-options.js'
import { loadProxyProto, type ProxyMessage, type ProxyStreamClient } from '../../common/proto.js'
import { postJson, startCluster, waitFor, type TestCluster } from './support/cluster.js'

let cluster: TestCluster
let client: ProxyStreamClient

beforeAll(async () => {
  cluster = await startCluster('grpc-keepalive', 1, 1)
  const { ProxyStream } = loadProxyProto()
  client = new ProxyStream(`127.0.0.1:${cluster.proxies[0]!.ports.grpc}`, grpc.credentials.createInsecure(), {
    ...clientChannelOptions({ keepaliveIntervalMs: MIN_KEEPALIVE_INTERVAL_MS, keepaliveTimeoutMs: 5_000 }),
    'grpc.use_local_subchannel_pool': 1,
  })
}, 60_000)
afterAll(async () => {
  client.close()
  await cluster.stop()
})

it(
  'keeps a ClientStream whose client pings every 10 s: no too_many_pings, deliveries go on',
  async () => {
    const http = cluster.proxies[0]!.ports.http
    await postJson(http, '/api/v1/subscribe', { client_id: 'pinger', topic: 'ka', threshold: 1 })
    const call = client.ClientStream()
    const frames: ProxyMessage[] = []
    let status: grpc.StatusObject | undefined
    call.on('data', (frame: ProxyMessage) => frames.push(frame))
    call.on('status', (s: grpc.StatusObject) => (status = s))
    call.on('error', () => {})
    call.write({ client_id: 'pinger' })
    // Two and a half keepalive periods: a server that polices pings would have sent GOAWAY by now.
    await new Promise((resolve) => setTimeout(resolve, 2.5 * MIN_KEEPALIVE_INTERVAL_MS))
    expect(status).toBeUndefined()
    await postJson(http, '/api/v1/publish', { client_id: 'pinger', topic: 'ka', message: 'still here' })
    await waitFor('delivery after the pings', () => frames.length === 1)
    expect(client.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY)
    call.cancel()
  },
  60_000,
)
