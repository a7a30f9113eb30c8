/**
 * The Lua scripts of ./scripts, each one atomic operation on one hash slot,
 * registered once per client with `defineCommand` (EVALSHA, falling back to
 * EVAL after a Redis restart flushed the script cache) and wrapped in a typed
 * method. `last-id.lua` is a prelude shared by the scripts that append.
 */
import { readFileSync } from 'node:fs'
import type { RedisClient } from './redis-store.js'

const read = (name: string) => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8')

const LAST_ID = read('last-id')
const DEFINITIONS = {
  recordArrival: { keys: 2, lua: LAST_ID + read('record-arrival') },
  initCursor: { keys: 2, lua: LAST_ID + read('init-cursor') },
  saveCursors: { keys: 1, lua: read('save-cursors') },
  subscribe: { keys: 5, lua: read('subscribe') },
  unsubscribe: { keys: 5, lua: read('unsubscribe') },
} as const

type ScriptName = keyof typeof DEFINITIONS
type Arg = string | number | Buffer
type Commands = Record<ScriptName, (...args: Arg[]) => Promise<unknown>>

export interface SubscriptionKeys {
  client: string
  topicClients: string
  active: string
  clients: string
  changes: string
}

export class StoreScripts {
  private readonly commands: Commands

  constructor(client: RedisClient) {
    for (const [name, { keys, lua }] of Object.entries(DEFINITIONS)) client.defineCommand(name, { numberOfKeys: keys, lua })
    // defineCommand adds methods ioredis cannot type; this one cast is where they are named.
    this.commands = client as unknown as Commands
  }

  async recordArrival(message: string, stream: string, args: {
    node: string; messageId: string; data: Buffer; source: string; ttlSeconds: number; maxLength: number; maxAgeMs: number
  }): Promise<{ count: number; appended: boolean; id: string | null }> {
    const [count, appended, id] = await this.commands.recordArrival(message, stream,
      args.node, args.messageId, args.data, args.source, args.ttlSeconds, args.maxLength, args.maxAgeMs) as [number, number, string | null]
    return { count, appended: appended === 1, id }
  }

  async initCursor(cursors: string, stream: string, clientId: string): Promise<string> {
    return await this.commands.initCursor(cursors, stream, clientId) as string
  }

  async saveCursors(cursors: string, pairs: Arg[]): Promise<void> {
    await this.commands.saveCursors(cursors, ...pairs)
  }

  async subscribe(keys: SubscriptionKeys, clientId: string, topic: string, threshold: string, changesMaxLength: number): Promise<boolean> {
    return await this.commands.subscribe(...subscriptionKeys(keys), clientId, topic, threshold, changesMaxLength) === 1
  }

  async unsubscribe(keys: SubscriptionKeys, clientId: string, topic: string, changesMaxLength: number): Promise<boolean> {
    return await this.commands.unsubscribe(...subscriptionKeys(keys), clientId, topic, changesMaxLength) === 1
  }
}

function subscriptionKeys(k: SubscriptionKeys): string[] {
  return [k.client, k.topicClients, k.active, k.clients, k.changes]
}
