import type { DeliveredMessageJson } from '../../common/proto.js'
import type { Arrival } from '../store/store.js'

/**
 * Parses a sidecar delivery (`{"MessageID","Topic","Message","SourceNodeID"}`)
 * from `node` (its name in P2P_NODES, `host:port`: the same on every replica);
 * undefined when it is not one (a node bug must not crash the proxy).
 */
export function parseDelivery(node: string, data: Uint8Array): Arrival | undefined {
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
