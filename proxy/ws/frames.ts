import type { Delivery, GapNotice } from '../delivery/types.js'

/**
 * A delivered message as a WebSocket text frame: the published shape that
 * mump2p-cli decodes (`source_node_id`, `topic`, `message_id`, `message` as
 * base64 of the bytes), plus ours: `cursor` (pass it back as `since=` to
 * resume after this message) and `nodes` (how many nodes held it).
 */
export function messageFrame(delivery: Delivery): string {
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
export function gapFrame(notice: GapNotice): string {
  return JSON.stringify({ type: 'gap', topic: notice.topic, after: notice.after, until: notice.until, reason: notice.reason })
}
