import type { DeliveredMessageJson } from '../../common/proto.js'

/** A message one node's sidecar delivered to this proxy. */
export interface NodeDelivery {
  /** The node as named in P2P_NODES (`host:port`): the same name on every replica. */
  node: string
  topic: string
  messageId: string
  data: Buffer
  /** SourceNodeID of the delivery JSON (the node's peer id). */
  source: string
}

/**
 * Parses a sidecar delivery (`{"MessageID","Topic","Message","SourceNodeID"}`);
 * undefined when it is not one (a node bug must not crash the proxy).
 */
export function parseDelivery(node: string, data: Uint8Array): NodeDelivery | undefined {
  let json: Partial<Record<keyof DeliveredMessageJson, unknown>>
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8')) as typeof json
  } catch {
    return undefined
  }
  if (typeof json !== 'object' || json === null) return undefined
  const { MessageID, Topic, Message, SourceNodeID } = json
  if (typeof MessageID !== 'string' || MessageID === '' || typeof Topic !== 'string' || Topic === '') return undefined
  if (typeof Message !== 'string') return undefined
  return { node, topic: Topic, messageId: MessageID, data: Buffer.from(Message, 'base64'), source: typeof SourceNodeID === 'string' ? SourceNodeID : '' }
}
