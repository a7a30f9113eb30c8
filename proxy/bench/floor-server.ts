import '../../common/polyfill.js'
import { Redis } from 'ioredis'
import { WebSocketServer } from 'ws'

/**
 * The floor of bench:proxy: the least a WebSocket fan-out from Redis can
 * cost. One process, one `XREAD BLOCK` loop on one stream, every entry sent
 * to every connected client in the proxy's frame shape. No subscriptions,
 * thresholds, cursors or P2P network.
 *
 * env: FLOOR_PORT, REDIS_URL, FLOOR_STREAM. Prints "listening <port>" when ready.
 */
const port = Number(process.env.FLOOR_PORT ?? 0)
const stream = process.env.FLOOR_STREAM ?? 'bench:floor'
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const wss = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false })

wss.on('listening', () => process.stdout.write(`listening ${(wss.address() as { port: number }).port}\n`))

let last = '$'
for (;;) {
  const reply = (await redis.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', stream, last)) as [string, [string, string[]][]][] | null
  if (!reply) continue
  for (const [id, fields] of reply[0]![1]) {
    last = id
    const frame = JSON.stringify({ source_node_id: 'floor', topic: stream, message_id: id, message: fields[1], cursor: id, nodes: 1 })
    for (const client of wss.clients) client.send(frame)
  }
}
