import type { NodeMode } from '../../common/config/index.js'
import { ResponseType, type SidecarResponse } from '../../common/proto.js'
import { encodeTraceEvent, TraceType, type TraceTypeNumber } from '../../common/trace-codec.js'
import { markShared } from '../sidecar/delivery-json.js'
import type { NodeTrace, TraceKind } from './types.js'

const TYPES: Record<TraceKind, TraceTypeNumber> = {
  publish: TraceType.PUBLISH_MESSAGE,
  reject: TraceType.REJECT_MESSAGE,
  deliver: TraceType.DELIVER_MESSAGE,
  add_peer: TraceType.ADD_PEER,
  remove_peer: TraceType.REMOVE_PEER,
  join: TraceType.JOIN,
  leave: TraceType.LEAVE,
  graft: TraceType.GRAFT,
  prune: TraceType.PRUNE,
  duplicate_shard: TraceType.DUPLICATE_SHARD,
  unhelpful_shard: TraceType.UNHELPFUL_SHARD,
  unnecessary_shard: TraceType.UNNECESSARY_SHARD,
  new_shard: TraceType.NEW_SHARD,
}

/**
 * The sidecar response for one trace event: `Response{command:
 * MessageTraceMumP2P (2) in optimum mode, MessageTraceGossipSub (3) in
 * gossipsub mode, data: the encoded TraceEvent}`. Built once per event and
 * shared by every stream that asked for it, like a delivered message.
 */
export function traceResponse(event: NodeTrace, mode: NodeMode, node: string): SidecarResponse {
  const data = encodeTraceEvent({
    type: TYPES[event.kind],
    node,
    timeMs: event.time,
    messageId: event.messageId,
    topic: event.topic,
    peer: event.peer,
    coefficients: event.coefficients,
    reason: event.reason,
  })
  const command = mode === 'optimum' ? ResponseType.MessageTraceMumP2P : ResponseType.MessageTraceGossipSub
  return markShared({ command, data })
}
