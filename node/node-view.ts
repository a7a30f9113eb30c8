/**
 * What the HTTP API (and anything else that only reports) reads from the
 * running node. The node implements it over libp2p and its PubSubEngine; tests
 * pass a plain object. Every method is called per request, so it must be cheap
 * and return a fresh array the caller may keep.
 */
export interface NodeView {
  /** NODE_MODE the node runs in (the same union as the config's NodeMode). */
  readonly mode: 'optimum' | 'gossipsub'
  /** This node's peer id string (12D3KooW…); published as `pub_key`. */
  readonly peerId: string
  /** Peer ids of the currently connected libp2p peers. */
  peers(): string[]
  /** Multiaddrs this node listens on / announces, as strings (`/ip4/…/tcp/7070`). */
  addresses(): string[]
  /** Topics this node is subscribed to. */
  topics(): string[]
  /** Peer ids in this node's mesh for the topic (empty when not subscribed). */
  meshPeers(topic: string): string[]
}
