import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, PeerId, Stream } from '@libp2p/interface'

/** What the repair needs of gossipsub beyond its exported interface (present in @libp2p/gossipsub 17). */
interface GossipsubInternals {
  readonly peers: Map<string, PeerId>
  readonly streamsOutbound: Map<string, { rawStream: Pick<Stream, 'writeStatus'> }>
  /** Private in the typings: registers the peer (a no-op when known) and queues a new outbound stream. */
  onPeerConnected?: (peerId: PeerId, connection: Connection) => void
}

/**
 * Works around a race in @libp2p/gossipsub: an outbound stream opened on a
 * connection that closes while the stream is negotiated (a peer that restarts
 * and redials at once) is registered already closed, its close listener never
 * fires, and gossipsub never opens another stream to that peer, because one is
 * "there". Our subscriptions and GRAFTs then stop reaching the peer and the
 * mesh stays one-sided for good. On every heartbeat this drops such dead
 * entries of peers still connected and lets gossipsub open a fresh stream on
 * an open connection. Returns the function that stops it.
 */
export function repairOutboundStreams(pubsub: GossipSub, connections: (peer: PeerId) => Connection[]): () => void {
  const internals = pubsub as unknown as GossipsubInternals
  const onHeartbeat = (): void => {
    for (const [id, stream] of internals.streamsOutbound) {
      // gossipsub only writes on it: closed for writing (whatever closed it) is dead
      if (stream.rawStream.writeStatus !== 'closed') continue
      const peer = internals.peers.get(id)
      const open = peer === undefined ? undefined : connections(peer).find((connection) => connection.status === 'open')
      if (peer === undefined || open === undefined || internals.onPeerConnected === undefined) continue
      internals.streamsOutbound.delete(id)
      internals.onPeerConnected(peer, open)
    }
  }
  pubsub.addEventListener('gossipsub:heartbeat', onHeartbeat)
  return () => pubsub.removeEventListener('gossipsub:heartbeat', onHeartbeat)
}
