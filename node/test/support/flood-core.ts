import { createHash } from 'node:crypto'
import { OptimumError } from '../../../common/errors.js'
import { headerSigningBytes } from '../../optimum/header.js'
import type { CoreEnv, CoreOptions, CoreOutputs, CoreStats, OptimumCore, PeerKey, Rpc, Shard } from '../../optimum/types.js'

/**
 * A stand-in protocol core for carrier tests: no coding (k = 1, the shard is
 * the framed message), no mesh (every subscribed peer), plain flooding with
 * deduplication. It speaks the real frame types and signs its headers, so
 * the adapter, the wire codec and the engine run exactly as with the real
 * core; only the dissemination is trivial.
 */
export function createFloodCore(_options: CoreOptions, env: CoreEnv, outputs: CoreOutputs): OptimumCore {
  const peers = new Map<PeerKey, Set<string>>()
  const subscribed = new Set<string>()
  const seen = new Map<string, string>()
  const stats: CoreStats = {
    peers: 0, messages: 0, undecoded: 0, undecodedBytes: 0, retainedBytes: 0, seen: 0, deferred: 0, owedLost: 0, overduePeers: 0, shardsReceived: 0, shardsInnovative: 0,
    shardsRedundant: 0, shardsSent: 0, recodes: 0, decoded: 0, decodeFailures: 0, idontwantSent: 0, iwantSent: 0, ihaveSent: 0,
  }
  const flood = (shard: Shard, except?: PeerKey): number => {
    let sent = 0
    for (const [peer, topics] of peers) {
      if (peer === except || !topics.has(shard.header!.topic)) continue
      outputs.send(peer, { shards: [shard] })
      stats.shardsSent++
      sent++
    }
    return sent
  }
  const announce = (topic: string, subscribe: boolean): void => {
    for (const peer of peers.keys()) outputs.send(peer, { subscriptions: [{ topic, subscribe }] })
  }

  return {
    addPeer(peer) {
      peers.set(peer, new Set())
      outputs.send(peer, { subscriptions: [...subscribed].map((topic) => ({ topic, subscribe: true })) })
    },
    removePeer(peer) {
      peers.delete(peer)
    },
    handleRpc(from, rpc: Rpc) {
      const topics = peers.get(from)
      if (topics === undefined) return
      for (const sub of rpc.subscriptions ?? []) {
        if (sub.subscribe) topics.add(sub.topic)
        else topics.delete(sub.topic)
      }
      for (const shard of rpc.shards ?? []) {
        const header = shard.header
        stats.shardsReceived++
        if (header === undefined || seen.has(shard.messageId)) {
          stats.shardsRedundant++
          continue
        }
        stats.shardsInnovative++
        const source = env.verify(header.publisher, headerSigningBytes(header), header.signature)
        const data = shard.payload.subarray(4, 4 + header.length)
        if (source === undefined || !createHash('sha256').update(data).digest().equals(header.hash)) {
          outputs.disconnect(from, 'forged message')
          return
        }
        seen.set(shard.messageId, header.topic)
        stats.decoded++
        outputs.trace?.({ kind: 'deliver', at: env.now(), messageId: header.messageId, topic: header.topic })
        if (subscribed.has(header.topic)) {
          outputs.deliver({ id: header.messageId, topic: header.topic, data: data.slice(), source, publishedAt: header.publishedAt })
        }
        flood({ ...shard, hop: shard.hop + 1 }, from)
      }
    },
    heartbeat() {},
    drained() {},
    uplinkDrained() {},
    publish(topic, data, id) {
      const hash = createHash('sha256').update(data).digest()
      if (seen.has(id)) return { id, fresh: false, peers: 0 }
      if (data.length > _options.maxMessageSize) throw new OptimumError('too_large', 'message too large')
      seen.set(id, topic)
      const unsigned = { messageId: id, topic, length: data.length, k: 1, hash, publisher: env.publicKey, signature: new Uint8Array(0), publishedAt: Math.round(env.now()) }
      const header = { ...unsigned, signature: env.sign(headerSigningBytes(unsigned)) }
      const payload = new Uint8Array(4 + data.length)
      new DataView(payload.buffer).setUint32(0, data.length)
      payload.set(data, 4)
      return { id, fresh: true, peers: flood({ messageId: id, header, hop: 0, coefficients: new Uint8Array([1]), payload }) }
    },
    subscribe(topic) {
      if (!subscribed.has(topic)) announce(topic, true)
      subscribed.add(topic)
    },
    unsubscribe(topic) {
      if (subscribed.delete(topic)) announce(topic, false)
    },
    topics: () => [...subscribed],
    meshPeers: (topic) => [...peers].filter(([, topics]) => topics.has(topic)).map(([peer]) => peer),
    peers: () => [...peers.keys()],
    score: () => 0,
    stats: () => ({ ...stats, peers: peers.size, seen: seen.size }),
    stop() {},
  }
}
