/**
 * The contract between the optimum protocol core (a pure state machine) and
 * whatever carries its frames: the libp2p adapter on a real node, the
 * in-memory network in tests, the discrete-event simulator. Nothing here
 * names libp2p; peers are opaque strings (a libp2p node uses its peer id).
 *
 * Frames are typed objects. Bytes on the wire are the adapter's business
 * (`wire.ts` encodes these types as `proto/optimum.proto`), so the core never
 * parses untrusted bytes and a simulator can skip serialisation entirely
 * while still counting the bytes a frame would take.
 */
import type { Kernel, RandomBytes } from '../../common/rlnc/index.js'

export type PeerKey = string

/** What the publisher signs; every shard of a message refers to it. */
export interface ShardHeader {
  messageId: string
  topic: string
  /** Message length in bytes (before framing). */
  length: number
  /** Fragments the message was cut into. */
  k: number
  /** sha256 of the message bytes (32 bytes). */
  hash: Uint8Array
  /** Publisher's public key, protobuf-marshalled as libp2p writes it. */
  publisher: Uint8Array
  /** Publisher's signature over the canonical header bytes (`headerSigningBytes`). */
  signature: Uint8Array
  /** Publisher's clock at publish, ms since the epoch (traces and latency only; never trusted). */
  publishedAt: number
}

export interface Shard {
  messageId: string
  /** Present at least on the first shard of a message a sender sends to a peer. */
  header?: ShardHeader
  /** 0 when sent by the publisher itself; relays add 1. */
  hop: number
  coefficients: Uint8Array
  payload: Uint8Array
}

export interface SubOpt {
  topic: string
  subscribe: boolean
}

export interface PeerInfo {
  id: PeerKey
  /** Dialable addresses the sender knows for that peer (may be empty). */
  addrs: string[]
}

export interface Prune {
  topic: string
  /** Peer exchange: other peers of the topic, so a pruned node can find more. */
  peers: PeerInfo[]
  backoffSeconds: number
}

export interface IHave {
  topic: string
  /** Messages the sender holds at least one shard of, with the rank it holds. */
  messages: Array<{ messageId: string; rank: number }>
}

export interface IWant {
  messageId: string
  /** Independent shards the asker still needs (k − its rank). */
  count: number
}

export interface Control {
  graft?: Array<{ topic: string }>
  prune?: Prune[]
  ihave?: IHave[]
  iwant?: IWant[]
  /** Messages the sender has decoded (or given up on): send it no more of their shards. */
  idontwant?: string[]
}

/** One frame between two peers. Any part may be absent; an empty frame is legal and ignored. */
export interface Rpc {
  subscriptions?: SubOpt[]
  shards?: Shard[]
  control?: Control
}

export interface Delivery {
  id: string
  topic: string
  /**
   * The message body: a view into the core's pooled decode buffer, valid only
   * until `deliver` returns (the next decode overwrites it). Copy it to keep it.
   */
  data: Uint8Array
  /** Publisher's peer key (derived from the header's public key). */
  source: PeerKey
  publishedAt: number
}

export type TraceKind =
  | 'publish'
  | 'new_shard'
  | 'duplicate_shard'
  | 'unhelpful_shard'
  | 'unnecessary_shard'
  | 'deliver'
  | 'reject'
  | 'graft'
  | 'prune'
  | 'add_peer'
  | 'remove_peer'
  | 'join'
  | 'leave'

export interface TraceEvent {
  kind: TraceKind
  at: number
  topic?: string
  messageId?: string
  peer?: PeerKey
  coefficients?: Uint8Array
  reason?: string
}

/** Everything the core needs from the outside world, injected so tests and the simulator control it. */
export interface CoreEnv {
  self: PeerKey
  /** Monotonic milliseconds (virtual time in the simulator). */
  now(): number
  random: RandomBytes
  kernel: Kernel
  /** Signs with this node's key. */
  sign(bytes: Uint8Array): Uint8Array
  /** This node's public key, protobuf-marshalled (goes into headers it publishes). */
  publicKey: Uint8Array
  /** Verifies a publisher signature; returns the publisher's peer key, or undefined when invalid. */
  verify(publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array): PeerKey | undefined
  /** Bytes queued towards the peer and not yet written (backpressure; 0 when unknown). */
  backlog(peer: PeerKey): number
  /**
   * Bytes queued towards all peers together and not yet written (absent: not
   * known). A node has one uplink: what waits for one peer delays all others.
   */
  uplinkBacklog?(): number
  /** Dialable addresses of a connected peer, for peer exchange (may be empty). */
  addressesOf(peer: PeerKey): string[]
  /** Wall-clock ms since the epoch for a header's publishedAt; `now()` when absent (the simulator). */
  wallClock?(): number
}

/** Where the core's outputs go. */
export interface CoreOutputs {
  send(peer: PeerKey, rpc: Rpc): void
  deliver(message: Delivery): void
  /** Drop this peer's connection (score below the disconnect threshold, or a protocol violation). */
  disconnect(peer: PeerKey, reason: string): void
  /** Peer exchange suggested a peer worth connecting to. */
  dial(peer: PeerInfo): void
  trace?(event: TraceEvent): void
}

export interface CoreOptions {
  mesh: { min: number; target: number; max: number }
  shardFactor: number
  shardMultiplier: number
  threshold: number
  maxMessageSize: number
  heartbeatMs: number
  /** Overrides of the protocol's bounds (`limits.ts` has the defaults and their reasons). */
  limits?: Partial<CoreLimits>
}

/** Every bound the core keeps on memory, work and time. Defaults in `limits.ts` (DEFAULT_LIMITS). */
export interface CoreLimits {
  /** Shards taken from one frame; the rest are dropped and the sender is scored down. */
  maxShardsPerRpc: number
  /** Subscriptions, IHAVE entries, IWANT entries and IDONTWANT ids taken from one frame, each. */
  maxControlPerRpc: number
  /** Topics one peer may be subscribed to; more are ignored and scored down. */
  maxTopicsPerPeer: number
  /** Undecoded messages at once, over all peers. */
  maxUndecoded: number
  /** Heap bytes the decoders of undecoded messages may hold, over all peers. */
  maxUndecodedBytes: number
  /** Undecoded messages one peer may open (its shards came first), and their heap bytes. */
  maxUndecodedPerPeer: number
  maxUndecodedBytesPerPeer: number
  /** Message states held at once (undecoded, decoded and kept for repair); the oldest decoded go first. */
  maxMessages: number
  /** An undecoded message's state is dropped this long after its first shard. */
  messageTtlMs: number
  /** A decoded message's state (its decoder, for recoding) is kept this long for repair. */
  retainMs: number
  /** Heap bytes decoded (and published) states may hold; beyond it the oldest go first. */
  maxRetainedBytes: number
  /** Delivered and published ids are remembered this long (duplicates, `already_exists`), at most seenMax. */
  seenTtlMs: number
  seenMax: number
  /**
   * Messages of at least this many bytes per shard (header length ÷ k)
   * announce each rank increase to the mesh (a one-entry IHAVE), so
   * neighbours stop sending what it no longer needs; below it, the
   * announcements cost more (frames, CPU) than the shards they save.
   */
  rankUpdateMinShardBytes: number
  /**
   * Messages of at least this many bytes per shard are relayed as large ones,
   * to relayFanout peers; smaller ones go to every mesh peer that may still
   * use them (latency over bytes).
   */
  relayFanoutMinShardBytes: number
  /** Mesh peers each innovative shard (and each decode) of a large message is passed on to. */
  relayFanout: number
  /** A peer whose outbound backlog is at least this many bytes gets its shards deferred until drained. */
  backlogBytes: number
  /**
   * While this many bytes or more wait for the uplink (all peers together),
   * every peer's shards are deferred: each then goes out as a recoding made
   * when the uplink has room, to a peer that still needs it then, instead of
   * a shard committed early that arrives after the peer decoded.
   */
  uplinkBacklogBytes: number
  /**
   * Heap bytes of the message states owed to one peer (shards deferred by its
   * backlog, kept until paid). A peer past it does not drain: it is disconnected.
   */
  maxOwedBytesPerPeer: number
  /** Fanout entries for topics published to without subscribing expire after this long unused. */
  fanoutTtlMs: number
  /** Non-mesh topic peers that get IHAVE each heartbeat, per topic. */
  gossipLazy: number
  /** IHAVE advertises messages whose state is younger than this many heartbeats. */
  gossipHeartbeats: number
  /** Message ids in one IHAVE. */
  maxIHaveMessages: number
  /** Shards served to one peer's IWANTs per heartbeat. */
  maxIWantShardsPerHeartbeat: number
  /** IWANTs for messages we have no state for, per peer per heartbeat. */
  maxUnknownIWantsPerHeartbeat: number
  /** How long a pruned peer may not be grafted (and may not graft), unless the PRUNE says otherwise. */
  pruneBackoffMs: number
  /** Peer exchange entries sent in, and taken from, one PRUNE. */
  maxPeerExchange: number
  /** Score at or below which a peer is disconnected. */
  disconnectScore: number
  /** Factor the score's penalties decay by on each heartbeat. */
  scoreDecay: number
}

/** Counters and gauges for metrics and tests. */
export interface CoreStats {
  peers: number
  /** Message states held: undecoded + decoded-and-retained. */
  messages: number
  undecoded: number
  undecodedBytes: number
  /** Heap bytes held by decoded and published states, kept for repair. */
  retainedBytes: number
  seen: number
  /** Messages owed to peers, waiting for their backlog to drain. */
  deferred: number
  /** Owed messages whose state went before they were paid (only an undecoded relay's, at messageTtlMs). */
  owedLost: number
  /** Peers cut off for not draining what they were owed. */
  overduePeers: number
  shardsReceived: number
  shardsInnovative: number
  shardsRedundant: number
  shardsSent: number
  recodes: number
  decoded: number
  decodeFailures: number
  idontwantSent: number
  iwantSent: number
  ihaveSent: number
}

export interface CorePublishResult {
  id: string
  /** False when this id was already seen with the same content. */
  fresh: boolean
  /** Peers the first shards went to. */
  peers: number
}

/**
 * The protocol core. The carrier calls `addPeer` once a peer passed the
 * cluster handshake, `handleRpc` for every decoded frame, `heartbeat` every
 * `heartbeatMs`, `drained` when a peer's backlog fell (so deferred shards
 * can go out) and `uplinkDrained` when the backlog towards all peers
 * together fell (below `uplinkBacklogBytes`, or to nothing). All methods are
 * synchronous and never throw on peer input.
 */
export interface OptimumCore {
  addPeer(peer: PeerKey, outbound: boolean): void
  removePeer(peer: PeerKey): void
  handleRpc(from: PeerKey, rpc: Rpc): void
  heartbeat(): void
  drained(peer: PeerKey): void
  /** Pays the peers owed shards in turn, in the order they joined, starting one peer later at each call. */
  uplinkDrained(): void
  /** Throws OptimumError 'too_large' / 'invalid_argument' / 'already_exists' (same id, other content). */
  publish(topic: string, data: Uint8Array, id: string): CorePublishResult
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  topics(): string[]
  meshPeers(topic: string): PeerKey[]
  peers(): PeerKey[]
  /** A peer's current score (0 for a well-behaved or unknown peer, negative after penalties). */
  score(peer: PeerKey): number
  stats(): CoreStats
  stop(): void
}
