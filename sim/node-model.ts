import type { EventQueue } from '../common/event-queue.js'
import type { SimRandom } from './random.js'
import type { NetworkHandlers, SimNetwork } from './network.js'
import type { Tally } from './wire-size.js'

/** The one topic every simulated node subscribes to. */
export const SIM_TOPIC = 'sim'

/** What a simulated node (either mode) offers the run: the network's callbacks plus the run's own. */
export interface SimNode extends NetworkHandlers {
  subscribe(): void
  heartbeat(): void
  /** Publishes message number `index` (its id is `id`). */
  publish(id: string, index: number): void
  stop(): void
}

/** What a node model gets from the run. */
export interface SimContext {
  queue: EventQueue
  network: SimNetwork
  /** Bytes sent, by frame kind (wire-size.ts). */
  tally: Tally
  /** The modelled message size in bytes. */
  messageBytes: number
  /** A node delivered a message (the run keeps the first per node). */
  delivered(node: string, id: string): void
  /** Peer exchange suggested a peer: the run connects them if both have room. */
  dial(from: string, to: string): void
}

export type NodeFactory = (ctx: SimContext, key: string, random: SimRandom) => SimNode
