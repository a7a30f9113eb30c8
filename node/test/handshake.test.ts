import { multiaddr } from '@multiformats/multiaddr'
import { byteStream } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeMode } from '../../common/config/index.js'
import { HANDSHAKE_PROTOCOL } from '../host/handshake.js'
import type { RunningNode } from '../node.js'
import { disconnected } from './support/hostile-peer.js'
import { meshReady, startTestNode, stopAll, waitFor } from './support/network.js'
import { startTestHost, type TestHost } from './support/optimum-host.js'

describe('cluster handshake', () => {
  const hosts: TestHost[] = []
  const start = async (options: Parameters<typeof startTestHost>[0] = {}): Promise<TestHost> => {
    const host = await startTestHost(options)
    hosts.push(host)
    return host
  }
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((host) => host.stop()))
  })

  it('passes peers of the same cluster on both sides', async () => {
    const [a, b] = [await start({ clusterId: 'dev' }), await start({ clusterId: 'dev' })]
    await b.node.dial(multiaddr(a.addr))
    await waitFor('both sides verified', () => a.handshake.isVerified(b.node.peerId.toString()) && b.handshake.isVerified(a.node.peerId.toString()))
  })

  it('speaks the published wire format: the dialler sends {"cluster_id": …} first, the listener answers with its own', async () => {
    const listener = await start({ clusterId: 'docker-dev-cluster' })
    const dialer = await start({ noHandshake: true })
    const stream = await dialer.node.dialProtocol(multiaddr(listener.addr), HANDSHAKE_PROTOCOL)
    const bytes = byteStream(stream)
    await bytes.write(new TextEncoder().encode('{"cluster_id":"docker-dev-cluster"}\n'))
    const answer = new TextDecoder().decode((await bytes.read())!.subarray())
    expect(JSON.parse(answer)).toEqual({ cluster_id: 'docker-dev-cluster' })
    await waitFor('the listener verified the dialler', () => listener.handshake.isVerified(dialer.node.peerId.toString()))
  })

  it('disconnects a peer of another cluster and refuses it for a while', async () => {
    const a = await start({ clusterId: 'blue' })
    const b = await start({ clusterId: 'green' })
    const gone = disconnected(b.node, a.node.peerId)
    await b.node.dial(multiaddr(a.addr)).catch(() => {})
    await gone
    expect(a.handshake.isVerified(b.node.peerId.toString())).toBe(false)
    expect(b.handshake.isVerified(a.node.peerId.toString())).toBe(false)
    await expect(b.node.dial(multiaddr(a.addr))).rejects.toThrow()
  })

  it('disconnects a peer that never opens the handshake', async () => {
    const a = await start({ handshakeTimeoutMs: 300 })
    const mute = await start({ noHandshake: true })
    const gone = disconnected(mute.node, a.node.peerId)
    await mute.node.dial(multiaddr(a.addr))
    await gone
  })
})

describe.each<NodeMode>(['optimum', 'gossipsub'])('%s nodes of different clusters', (mode) => {
  let nodes: RunningNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('never mesh, while nodes of the same cluster do', async () => {
    const a = await startTestNode(mode, { CLUSTER_ID: 'blue' })
    nodes.push(a)
    const bootstrap = { BOOTSTRAP_PEERS: a.multiaddrs()[0]! }
    const foreign = await startTestNode(mode, { CLUSTER_ID: 'green', ...bootstrap })
    const friend = await startTestNode(mode, { CLUSTER_ID: 'blue', ...bootstrap })
    nodes.push(foreign, friend)
    for (const node of nodes) node.engine.subscribe('shared')
    let foreignMeshed = false
    await waitFor('the same-cluster mesh, and the foreign node alone', () => {
      foreignMeshed ||= foreign.engine.meshPeers('shared').length > 0 || a.engine.meshPeers('shared').includes(foreign.peerId)
      return meshReady([a, friend], 'shared', 1)() && foreign.view.peers().length === 0
    }, 15_000)
    expect(foreignMeshed).toBe(false)
    expect(a.view.peers()).toEqual([friend.peerId])
  }, 30_000)
})
