import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { decodeEnvelope } from '../pubsub/envelope.js'
import type { TraceTap } from './tap.js'

/**
 * Gossipsub-mode trace events from what @libp2p/gossipsub and libp2p expose
 * as events: DELIVER_MESSAGE (with the peer it came from), GRAFT and PRUNE
 * (either side), ADD_PEER and REMOVE_PEER (libp2p connections). The engine
 * adds PUBLISH_MESSAGE, JOIN, LEAVE and REJECT_MESSAGE. Gossipsub has no
 * event for duplicates or for the RPCs it sends, receives or drops, so
 * DUPLICATE_MESSAGE and RECV/SEND/DROP_RPC never appear in this mode.
 * Returns the function that stops listening.
 */
export function traceGossipsub(pubsub: GossipSub, node: Libp2p, tap: Pick<TraceTap, 'emit'>): () => void {
  const onMessage = (event: CustomEvent<{ propagationSource: PeerId; msg: { type: string; topic: string; data: Uint8Array } }>): void => {
    const { msg, propagationSource } = event.detail
    if (msg.type !== 'signed') return
    let messageId: string
    try {
      messageId = decodeEnvelope(msg.data).id
    } catch {
      return // validation rejects it (and the engine traces that)
    }
    tap.emit({ kind: 'deliver', topic: msg.topic, messageId, peer: propagationSource.toString() })
  }
  const onGraft = (event: CustomEvent<{ peerId: string; topic: string }>): void =>
    tap.emit({ kind: 'graft', topic: event.detail.topic, peer: event.detail.peerId })
  const onPrune = (event: CustomEvent<{ peerId: string; topic: string }>): void =>
    tap.emit({ kind: 'prune', topic: event.detail.topic, peer: event.detail.peerId })
  const onConnect = (event: CustomEvent<PeerId>): void => tap.emit({ kind: 'add_peer', peer: event.detail.toString() })
  const onDisconnect = (event: CustomEvent<PeerId>): void => tap.emit({ kind: 'remove_peer', peer: event.detail.toString() })

  pubsub.addEventListener('gossipsub:message', onMessage)
  pubsub.addEventListener('gossipsub:graft', onGraft)
  pubsub.addEventListener('gossipsub:prune', onPrune)
  node.addEventListener('peer:connect', onConnect)
  node.addEventListener('peer:disconnect', onDisconnect)
  return () => {
    pubsub.removeEventListener('gossipsub:message', onMessage)
    pubsub.removeEventListener('gossipsub:graft', onGraft)
    pubsub.removeEventListener('gossipsub:prune', onPrune)
    node.removeEventListener('peer:connect', onConnect)
    node.removeEventListener('peer:disconnect', onDisconnect)
  }
}
