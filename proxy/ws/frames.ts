import type { Delivery, GapNotice } from '../delivery/types.js'

/**
 * The last frame made for a message body. Every client whose threshold is met
 * by the same stream event gets the same bytes (the event's cursor fixes every
 * field), and the hub hands them all the same body: encode once per event, not
 * once per client.
 */
const lastFrame = new WeakMap<Uint8Array, { cursor: string; frame: Buffer }>()

/**
 * A delivered message as the UTF-8 of a WebSocket text frame: the published
 * shape that mump2p-cli decodes (`source_node_id`, `topic`, `message_id`,
 * `message` as base64 of the bytes), plus ours: `cursor` (pass it back as
 * `since=` to resume after this message) and `nodes` (how many nodes held it).
 */
export function messageFrame(delivery: Delivery): Buffer {
  const cached = lastFrame.get(delivery.data)
  if (cached?.cursor === delivery.cursor) return cached.frame
  const frame = Buffer.from(encodeMessage(delivery))
  lastFrame.set(delivery.data, { cursor: delivery.cursor, frame })
  return frame
}

function encodeMessage(delivery: Delivery): string {
  return JSON.stringify({
    source_node_id: delivery.source,
    topic: delivery.topic,
    message_id: delivery.messageId,
    message: Buffer.from(delivery.data.buffer, delivery.data.byteOffset, delivery.data.byteLength).toString('base64'),
    cursor: delivery.cursor,
    nodes: delivery.nodes,
  })
}

/** Events after `after` up to `until` could not be replayed (trimmed or expired): the client is told, never silently skipped. */
export function gapFrame(notice: GapNotice): Buffer {
  return Buffer.from(JSON.stringify({ type: 'gap', topic: notice.topic, after: notice.after, until: notice.until, reason: notice.reason }))
}
