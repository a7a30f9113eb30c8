import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { NodeConfig } from '../common/config/index.js'
import { loadOrCreateIdentity } from '../common/identity/key-file.js'
import type { Logger } from '../common/logger.js'
import { loadKernel } from '../common/rlnc/index.js'
import type { VersionInfo } from '../common/version.js'
import { ApiServer } from './api/server.js'
import { BootstrapDialer, type BootstrapTarget } from './host/bootstrap.js'
import { ByteCounter } from './host/byte-counter.js'
import { ClusterHandshake } from './host/handshake.js'
import { createHost } from './host/libp2p.js'
import { PeerExchange } from './host/peer-exchange.js'
import { NodeMetrics } from './metrics.js'
import type { NodeView } from './node-view.js'
import { createOptimumCore } from './optimum/protocol.js'
import { startOptimum } from './optimum/service.js'
import type { PubSubEngine } from './pubsub/engine.js'
import { GossipsubEngine, gossipsubService } from './pubsub/gossipsub-engine.js'
import { repairOutboundStreams } from './pubsub/gossipsub-stream-repair.js'
import { SidecarServer } from './sidecar/server.js'
import { SidecarAuth } from './sidecar/auth.js'
import { JwtVerifier } from '../common/auth/jwt-verifier.js'
import { verifierOptions } from '../common/auth/provider.js'
import { SystemStats } from './system-stats.js'
import { traceGossipsub } from './trace/gossipsub-source.js'
import { SnapshotTracker } from './trace/snapshot.js'
import { TraceTap } from './trace/tap.js'

/** Multicodec of /p2p/<peer id>. */
const P2P_PROTOCOL_CODE = 0x01a5

export interface RunningNode {
  readonly peerId: string
  readonly engine: PubSubEngine
  readonly view: NodeView
  readonly ports: { p2p: number; sidecar: number; api: number }
  /** Dialable libp2p addresses, each ending in /p2p/<peerId>. */
  multiaddrs(): string[]
  /** Stops every server and the host; safe to call twice. */
  stop(): Promise<void>
}

/**
 * Builds a P2P node from its config: identity, libp2p host and the mode's
 * protocol, bootstrap dialling and peer exchange, the sidecar and the HTTP API.
 * Everything binds config.listenHost; ports of 0 pick free ones (tests run
 * many nodes in one process this way).
 */
export async function startNode(config: NodeConfig, log: Logger, version: VersionInfo): Promise<RunningNode> {
  const protocol = config.mode === 'optimum' ? config.optimum : config.gossipsub
  const { key } = await loadOrCreateIdentity(config.identityDir, log)
  const bytes = new ByteCounter()
  // The host consults the handshake's refusals, and the handshake needs the host: it is set right after.
  let handshake: ClusterHandshake | undefined
  const libp2p = await createHost({
    privateKey: key,
    listenHost: config.listenHost,
    port: protocol.port,
    services: config.mode === 'gossipsub' ? { pubsub: gossipsubService(config.gossipsub) } : {},
    bytes,
    denyPeer: (peerId) => handshake?.rejected.has(peerId) ?? false,
  })
  const peerId = libp2p.peerId.toString()
  const nodeLog = log.child({ peerId })
  const stack: Array<() => Promise<void> | void> = [() => libp2p.stop()]
  const stop = async (): Promise<void> => {
    for (const step of stack.splice(0).reverse()) {
      await Promise.resolve(step()).catch((err: Error) => nodeLog.warn({ err: err.message }, 'error while stopping'))
    }
  }

  try {
    handshake = new ClusterHandshake({ node: libp2p, clusterId: config.clusterId, log: nodeLog.child({ part: 'handshake' }) })
    await handshake.start()
    stack.push(() => handshake?.stop())

    let engine: PubSubEngine | undefined
    const traces = new TraceTap(nodeLog.child({ part: 'trace' }))
    const snapshot = new SnapshotTracker()
    traces.onTrace(snapshot.record)
    const metrics = new NodeMetrics(
      {
        peerCount: () => libp2p.getPeers().length,
        meshSizes: () => new Map((engine?.topics() ?? []).map((topic) => [topic, engine!.meshPeers(topic).length])),
        transfer: () => bytes.transfer,
      },
      { peer_id: peerId, cluster_id: config.clusterId },
      { maxTopics: config.limits.metricsMaxTopics },
    )
    if (config.mode === 'optimum') {
      const optimum = await startOptimum({
        node: libp2p,
        key,
        handshake,
        config: config.optimum,
        kernel: await loadKernel(),
        registry: metrics.registry,
        log: nodeLog,
        createCore: createOptimumCore,
        traces: traces.fromCore,
      })
      stack.push(() => optimum.stop())
      engine = optimum.engine
    } else {
      engine = new GossipsubEngine({
        pubsub: libp2p.services.pubsub as GossipSub,
        maxMessageSize: protocol.maxMessageSize,
        log: nodeLog.child({ part: 'gossipsub' }),
        selfId: libp2p.peerId,
        trace: (event) => traces.emit(event),
      })
      stack.push(traceGossipsub(libp2p.services.pubsub as GossipSub, libp2p, traces))
      stack.push(repairOutboundStreams(libp2p.services.pubsub as GossipSub, (peer) => libp2p.getConnections(peer)))
    }
    await libp2p.start()

    const view = nodeView(libp2p, engine)
    const bootstrap = new BootstrapDialer({
      targets: bootstrapTargets(config.bootstrapPeers, peerId),
      dial: async (addr, signal) => {
        await libp2p.dial(multiaddr(addr), { signal })
      },
      isConnected: (id) => libp2p.getConnections(peerIdFromString(id)).length > 0,
      log: nodeLog.child({ part: 'bootstrap' }),
    })
    const onDisconnect = (event: CustomEvent<PeerId>): void => bootstrap.peerDisconnected(event.detail.toString())
    libp2p.addEventListener('peer:disconnect', onDisconnect)
    bootstrap.start()
    stack.push(() => {
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      bootstrap.stop()
    })

    const exchange = new PeerExchange({ node: libp2p, targetPeers: protocol.mesh.target, log: nodeLog.child({ part: 'px' }) })
    await exchange.start()
    stack.push(() => exchange.stop())

    const stats = new SystemStats({ diskPath: config.identityDir })
    const sidecar = new SidecarServer({
      engine,
      metrics,
      log: nodeLog.child({ part: 'sidecar' }),
      host: config.listenHost,
      port: config.sidecarPort,
      queueSize: config.sidecarQueueSize,
      queueBytes: config.sidecarQueueBytes,
      maxMessageSize: protocol.maxMessageSize,
      health: () => stats.sample(),
      identity: { p2pAddress: () => libp2p.getMultiaddrs()[0]?.toString() ?? '', ...config.location },
      limits: config.limits,
      traces: { tap: traces, mode: config.mode, node: peerId },
      ...(config.sidecarAuth && { auth: new SidecarAuth(new JwtVerifier(verifierOptions(config.auth))) }),
    })
    const sidecarPort = await sidecar.start()
    stack.push(() => sidecar.stop())

    const api = new ApiServer({
      view,
      metrics,
      version,
      stats,
      log: nodeLog.child({ part: 'api' }),
      host: config.listenHost,
      port: config.apiPort,
      config,
      snapshot: () => snapshot.snapshot(view.peers(), (peer) => view.topics().filter((topic) => view.meshPeers(topic).includes(peer))),
    })
    const apiPort = await api.start()
    stack.push(() => api.stop())

    const p2pPort = Number(libp2p.getMultiaddrs()[0]?.getComponents().find((c) => c.name === 'tcp')?.value ?? protocol.port)
    nodeLog.info({ mode: config.mode, p2p: p2pPort, sidecar: sidecarPort, api: apiPort, addrs: view.addresses(), sidecarAuth: config.sidecarAuth }, 'node started')
    return {
      peerId,
      engine,
      view,
      ports: { p2p: p2pPort, sidecar: sidecarPort, api: apiPort },
      multiaddrs: () => libp2p.getMultiaddrs().map((addr) => addr.toString()),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

function bootstrapTargets(addrs: string[], selfId: string): BootstrapTarget[] {
  // The published compose file gives the bootstrap node its own address too.
  return addrs
    .map((addr) => ({ addr, peerId: addr.slice(addr.lastIndexOf('/p2p/') + 5) }))
    .filter(({ peerId }) => peerId !== selfId)
}

function nodeView(libp2p: Libp2p, engine: PubSubEngine): NodeView {
  return {
    mode: engine.mode,
    peerId: libp2p.peerId.toString(),
    peers: () => libp2p.getPeers().map((peer) => peer.toString()),
    // The published node-state lists listen addresses without the /p2p suffix.
    addresses: () => libp2p.getMultiaddrs().map((addr) => addr.decapsulateCode(P2P_PROTOCOL_CODE).toString()),
    topics: () => engine.topics(),
    meshPeers: (topic) => engine.meshPeers(topic),
  }
}
