import { createHash } from 'node:crypto'
import type { Kernel } from '../common/rlnc/index.js'
import { DEFAULT_LIMITS } from '../node/optimum/limits.js'
import { createOptimumCore } from '../node/optimum/protocol.js'
import type { CoreEnv, CoreOptions, Rpc } from '../node/optimum/types.js'
import type { SimRandom } from './random.js'
import { SIM_TOPIC, type NodeFactory } from './node-model.js'
import { optimumFrameBytes } from './wire-size.js'

/**
 * How payload bytes are handled:
 * - `modelled`: the core runs its real codec on an 8-byte stand-in message,
 *   so coefficient rank, innovation and recoding behave exactly as with real
 *   data (they do not depend on the payload), while frame sizes, bandwidth and
 *   queueing are counted as if each shard were one of a `--size` message;
 * - `full`: real messages of `--size` random bytes, really encoded and decoded.
 */
export type PayloadMode = 'modelled' | 'full'

export interface OptimumModelOptions {
  core: CoreOptions
  kernel: Kernel
  payload: PayloadMode
  /** Seeds the bytes of full-size messages. */
  seed: number
}

const TEXT = new TextEncoder()
const DECODE = new TextDecoder()

/** The stand-in signature scheme (a hash of key and bytes): the core's checks run, without Ed25519's cost. */
export function standInSignature(publicKey: Uint8Array, bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(publicKey).update(bytes).digest()
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** The protocol core itself (createOptimumCore), carried by the simulated network. */
export function optimumNodeFactory(options: OptimumModelOptions): NodeFactory {
  return (ctx, key, random: SimRandom) => {
    const publicKey = TEXT.encode(key)
    const modelledSize = options.payload === 'modelled' ? ctx.messageBytes : undefined
    const env: CoreEnv = {
      self: key,
      now: () => ctx.queue.now,
      random: (out) => random.bytes(out),
      kernel: options.kernel,
      sign: (bytes) => standInSignature(publicKey, bytes),
      publicKey,
      verify: (pub, bytes, signature) => (sameBytes(standInSignature(pub, bytes), signature) ? DECODE.decode(pub) : undefined),
      backlog: (peer) => ctx.network.backlog(key, peer),
      uplinkBacklog: () => ctx.network.uplinkBacklog(key),
      addressesOf: () => [],
    }
    const core = createOptimumCore(coreOptions(options, ctx.messageBytes), env, {
      send: (peer, rpc) => {
        ctx.network.send(key, peer, optimumFrameBytes(rpc, SIM_TOPIC.length, modelledSize, ctx.tally), rpc)
      },
      deliver: (message) => ctx.delivered(key, message.id),
      disconnect: (peer) => ctx.network.disconnect(key, peer),
      dial: (info) => ctx.dial(key, info.id),
    })
    return {
      linkUp: (peer, outbound) => core.addPeer(peer, outbound),
      linkDown: (peer) => core.removePeer(peer),
      receive: (from, frame) => core.handleRpc(from, frame as Rpc),
      uplinkDrained: () => core.uplinkDrained(),
      subscribe: () => core.subscribe(SIM_TOPIC),
      heartbeat: () => core.heartbeat(),
      publish: (id, index) => {
        core.publish(SIM_TOPIC, messageBody(options, ctx.messageBytes, index), id)
      },
      stop: () => core.stop(),
    }
  }
}

/**
 * The core picks its relay policy by the message's bytes per shard, header
 * length ÷ k (relayFanoutMinShardBytes: large messages go to a few neediest
 * peers, small ones to every peer; rankUpdateMinShardBytes: rank
 * announcements). A stand-in's header states its own 8 bytes, so in modelled
 * mode each bound is set to make the choice the core would make for a
 * `size`-byte message.
 */
function coreOptions(options: OptimumModelOptions, size: number): CoreOptions {
  if (options.payload === 'full') return options.core
  const limits = { ...DEFAULT_LIMITS, ...options.core.limits }
  const reaches = (bound: number): number => (size / options.core.shardFactor >= bound ? 0 : Infinity)
  return {
    ...options.core,
    limits: {
      ...options.core.limits,
      rankUpdateMinShardBytes: reaches(limits.rankUpdateMinShardBytes),
      relayFanoutMinShardBytes: reaches(limits.relayFanoutMinShardBytes),
    },
  }
}

/** The bytes of message number `index`: an 8-byte stand-in, or `size` seeded bytes. */
export function messageBody(options: OptimumModelOptions, size: number, index: number): Uint8Array {
  const seeded = new Uint32Array([options.seed >>> 0, index >>> 0])
  if (options.payload === 'modelled') return new Uint8Array(seeded.buffer)
  const body = new Uint8Array(size)
  let state = (options.seed * 2654435761 + index) >>> 0
  for (let i = 0; i < size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    body[i] = state >>> 24
  }
  return body
}
