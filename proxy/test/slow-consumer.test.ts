import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson, startCluster, TestWs, topicMeshReady, waitFor, waitForAsync, type TestCluster } from './support/cluster.js'

describe('a WebSocket client that stops reading', () => {
  let cluster: TestCluster
  let port: number

  beforeAll(async () => {
    cluster = await startCluster('slow', 1, 2, { PROXY_CLIENT_BUFFER_BYTES: '65536' })
    port = cluster.proxies[0]!.ports.http
  }, 60_000)
  afterAll(async () => {
    await cluster.stop()
  })

  it('is closed with 4008 once it is PROXY_CLIENT_BUFFER_BYTES behind, and loses nothing when it comes back', async () => {
    await postJson(port, '/api/v1/subscribe', { client_id: 'sleepy', topic: 'slow', threshold: 0.5 })
    await topicMeshReady(cluster.nodes, 'slow')
    const stalled = new TestWs(port, 'client_id=sleepy')
    await stalled.opened
    const socket = (stalled.ws as unknown as { _socket: Socket })._socket
    socket.pause()

    const body = 'x'.repeat(16 * 1024)
    const ids: string[] = []
    const slowConsumers = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      return Number(/optimum_proxy_slow_consumer_disconnects_total\{transport="websocket"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0)
    }
    // Publish until the proxy gives up on the client (kernel socket buffers absorb the first few MiB).
    await waitForAsync(
      'the slow-consumer close',
      async () => {
        for (let i = 0; i < 20; i++) {
          const { json } = await postJson(port, '/api/v1/publish', { client_id: 'sleepy', topic: 'slow', message: `${ids.length} ${body}` })
          ids.push(json.message_id as string)
        }
        return (await slowConsumers()) > 0
      },
      30_000,
    )
    socket.resume()
    const closed = await stalled.closed
    expect(closed.code).toBe(4008)

    const back = new TestWs(port, 'client_id=sleepy')
    await back.opened
    const got = () => new Set([...stalled.frames, ...back.frames].map((f) => f.message_id))
    await waitFor('every message after the comeback', () => ids.every((id) => got().has(id)), 30_000)
    await back.close()
  }, 90_000)
})
