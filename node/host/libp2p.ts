import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type ServiceFactoryMap } from 'libp2p'
import type { ByteCounter } from './byte-counter.js'

export interface HostOptions {
  privateKey: PrivateKey
  listenHost: string
  port: number
  /** The mode's protocol services (gossipsub, optimum); identify and ping are always there. */
  services: ServiceFactoryMap
  bytes: ByteCounter
  /** Peers refused at dial and at the inbound upgrade (the cluster handshake's recent rejects). */
  denyPeer(peerId: string): boolean
}

/**
 * The libp2p host: TCP + Noise + Yamux, identify, ping. It never dials on its
 * own (libp2p 3 has no auto-dialler); the bootstrap dialler and peer exchange
 * decide whom to connect to. It comes back unstarted, so that the cluster
 * handshake is in place before the first connection: call start().
 */
export async function createHost(options: HostOptions): Promise<Libp2p> {
  const deny = (peerId: { toString(): string }): boolean => options.denyPeer(peerId.toString())
  return createLibp2p({
    start: false,
    privateKey: options.privateKey,
    addresses: { listen: [await listenAddress(options.listenHost, options.port)] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      // Several nodes on one host dial each other at once; libp2p's default of
      // 5 inbound connections per second per IP would reset most of them.
      allow: ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'],
      maxIncomingPendingConnections: 64,
    },
    // The liveness ping queues behind whatever the connection already carries:
    // under a burst of large messages a healthy connection misses its ping
    // deadline (even a 30 s one at 16 nodes on 2 cores), and aborting it loses
    // everything queued on it. Pings still measure latency; a peer that is gone
    // is found by TCP (RST/FIN, write errors) instead.
    connectionGater: { denyDialPeer: deny, denyInboundEncryptedConnection: deny },
    connectionMonitor: { abortConnectionOnPingFailure: false },
    metrics: () => options.bytes.metrics(),
    services: { ...options.services, identify: identify(), ping: ping() },
  })
}

async function listenAddress(host: string, port: number): Promise<string> {
  const bare = host.replace(/^\[|\]$/g, '')
  const ip = isIP(bare) !== 0 ? bare : (await lookup(bare)).address
  return `/ip${isIP(ip)}/${ip}/tcp/${port}`
}
