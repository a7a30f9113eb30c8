import type { RedisClient } from '../store/redis-store.js'
import { StoreKeys } from '../store/keys.js'

/** How a queued publish learns whether the network has it. */
export interface ArrivalCheck {
  /** How many nodes have delivered the message back to the proxies (cluster-wide), 0 when none or expired. */
  nodesHolding(topic: string, messageId: string): Promise<number>
}

/**
 * Reads the node count that the store's arrival script keeps on each message
 * (field `c` of the message hash, see proxy/store/keys.ts). Read-only; the
 * store stays the only writer.
 */
export class StoreArrivalCheck implements ArrivalCheck {
  private readonly keys: StoreKeys

  constructor(private readonly redis: RedisClient, prefix: string) {
    this.keys = new StoreKeys(prefix)
  }

  async nodesHolding(topic: string, messageId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.message(topic, messageId), 'c')) ?? 0)
  }
}
