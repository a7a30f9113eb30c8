import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as varint from 'uint8-varint'
import { OPTIMUM_PROTOCOL } from '../../optimum/wire.js'
import { startTestHost, type TestHost } from './optimum-host.js'
import { waitFor } from './wait.js'

/** Resolves when `node` loses its last connection to `peer`. */
export function disconnected(node: Libp2p, peer: PeerId): Promise<void> {
  return new Promise((resolve) => {
    const listener = (event: CustomEvent<PeerId>): void => {
      if (!event.detail.equals(peer)) return
      node.removeEventListener('peer:disconnect', listener)
      resolve()
    }
    node.addEventListener('peer:disconnect', listener)
  })
}

export function lengthPrefixed(body: Uint8Array): Uint8Array {
  const prefix = varint.encode(body.length)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix)
  out.set(body, prefix.length)
  return out
}

export interface HostilePeer {
  host: TestHost
  /** Its own stream to the victim on the optimum protocol: write anything on it. */
  stream: Stream
  /** Resolves when the victim has cut it off. */
  gone: Promise<void>
}

/**
 * A bare host of the victim's cluster: it passes the handshake honestly,
 * swallows whatever the victim sends, and writes what the test likes.
 */
export async function hostilePeer(victim: { addr: string; peerId: string }, clusterId = ''): Promise<HostilePeer> {
  const host = await startTestHost({ clusterId })
  await host.node.handle(OPTIMUM_PROTOCOL, () => {})
  const victimId = peerIdFromString(victim.peerId)
  const gone = disconnected(host.node, victimId)
  await host.node.dial(multiaddr(victim.addr))
  await waitFor('the handshake', () => host.handshake.isVerified(victim.peerId))
  const stream = await host.node.dialProtocol(victimId, OPTIMUM_PROTOCOL)
  return { host, stream, gone }
}

/** Writes `frames` copies of `frame` in batches, yielding between them (attacker and victim share a process). */
export async function flood(stream: Stream, frame: Uint8Array, frames: number, stopped: () => boolean): Promise<void> {
  const perBatch = 1000
  const batch = new Uint8Array(frame.length * perBatch)
  for (let i = 0; i < perBatch; i++) batch.set(frame, i * frame.length)
  for (let sent = 0; !stopped() && stream.status === 'open' && sent < frames; sent += perBatch) {
    if (!stream.send(batch)) await stream.onDrain().catch(() => {})
    await new Promise((resolve) => setImmediate(resolve))
  }
}
