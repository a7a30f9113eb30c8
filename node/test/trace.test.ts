import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NodeMode } from '../../common/config/index.js'
import { ResponseType } from '../../common/proto.js'
import { TraceType } from '../../common/trace-codec.js'
import type { RunningNode } from '../node.js'
import type { P2pSnapshot } from '../trace/snapshot.js'
import { meshReady, startNetwork, stopAll, waitFor } from './support/network.js'
import { TraceClient } from './support/trace-client.js'

const MODES: NodeMode[] = ['optimum', 'gossipsub']

describe.each(MODES)('traces and the p2p snapshot, %s network of 3 nodes', (mode) => {
  let nodes: RunningNode[]
  const clients: TraceClient[] = []
  const client = (node: RunningNode): TraceClient => {
    const c = new TraceClient(node.ports.sidecar)
    clients.push(c)
    return c
  }

  beforeAll(async () => {
    nodes = await startNetwork(3, mode)
  })
  afterAll(async () => {
    for (const c of clients) c.close()
    await stopAll(nodes)
  })

  it('streams the published trace format to the stream that asked, and none to the one that did not', async () => {
    const topic = `traced-${mode}`
    const [receiver, sender] = [nodes[0]!, nodes[1]!]
    const tracer = client(receiver)
    tracer.subscribe(topic, true)
    const plain = client(receiver)
    plain.subscribe(topic, false)
    const publisher = client(sender)
    publisher.subscribe(topic, false)
    for (const node of nodes.slice(2)) client(node).subscribe(topic, false)
    await waitFor('topic mesh', meshReady(nodes, topic, 1), 20_000)

    const { message_id: id } = await publisher.publishUnary(topic, randomBytes(64 * 1024))
    const traced = (type: number) => tracer.traces.filter((t) => t.type === type && t.messageId === id)
    await waitFor('the message and its DELIVER trace', () => tracer.messages.length === 1 && traced(TraceType.DELIVER_MESSAGE).length === 1)

    const traceCommand = mode === 'optimum' ? ResponseType.MessageTraceMumP2P : ResponseType.MessageTraceGossipSub
    expect(new Set(tracer.commands)).toEqual(new Set([ResponseType.Message, traceCommand]))
    const peerIds = nodes.map((node) => node.peerId)
    const deliver = traced(TraceType.DELIVER_MESSAGE)[0]!
    expect(deliver).toMatchObject({ node: receiver.peerId, topic })
    expect(peerIds).toContain(deliver.peer)
    expect(Math.abs(deliver.timeMs - Date.now())).toBeLessThan(60_000)
    if (mode === 'optimum') {
      const shards = traced(TraceType.NEW_SHARD)
      expect(shards.length).toBeGreaterThan(0)
      for (const shard of shards) {
        expect(peerIds).toContain(shard.peer)
        expect(shard.coefficients?.length).toBeGreaterThan(0)
      }
    }

    // A marker after the traced message: once it is on the plain stream, anything traced before it would be too.
    const { message_id: marker } = await publisher.publishUnary(topic, Buffer.from('marker'))
    await waitFor('the marker on the plain stream', () => plain.messages.some((m) => m.MessageID === marker))
    expect(plain.messages.map((m) => m.MessageID)).toEqual([id, marker])
    expect(new Set(plain.commands)).toEqual(new Set([ResponseType.Message]))
  })

  it('opens a trace with one GRAFT per current mesh peer of the topic', async () => {
    const topic = `mesh-${mode}`
    for (const node of nodes) client(node).subscribe(topic, false)
    await waitFor('topic mesh', meshReady(nodes, topic, 1), 20_000)
    const receiver = nodes[0]!
    const mesh = receiver.engine.meshPeers(topic)
    const late = client(receiver)
    late.subscribe(topic, true)
    await waitFor('the mesh as GRAFTs', () => late.traces.filter((t) => t.type === TraceType.GRAFT).length >= mesh.length)
    const grafted = late.traces.filter((t) => t.type === TraceType.GRAFT && t.topic === topic).map((t) => t.peer)
    expect(new Set(grafted)).toEqual(new Set(mesh))
  })

  it('serves GET /api/v1/p2p-snapshot with the published field names', async () => {
    const topic = `snapshot-${mode}`
    const streams = nodes.map((node) => client(node))
    for (const stream of streams) stream.subscribe(topic, false)
    await waitFor('topic mesh', meshReady(nodes, topic, 1), 20_000)
    const { message_id: id } = await streams[1]!.publishUnary(topic, randomBytes(32 * 1024))
    const receiver = nodes[0]!
    const snapshot = async (): Promise<P2pSnapshot> =>
      (await (await fetch(`http://127.0.0.1:${receiver.ports.api}/api/v1/p2p-snapshot`)).json()) as P2pSnapshot
    await waitFor('the message in node 1', () => streams[0]!.messages.some((m) => m.MessageID === id))
    const body = await snapshot()
    expect(Object.keys(body)).toEqual([
      'seen_message_hashes',
      'fully_decoded_message_hashes',
      'undecoded_shard_buffer_sizes',
      'total_peer_count',
      'full_message_node_count',
      'partial_message_node_count',
      'connected_peers',
    ])
    expect(body.seen_message_hashes).toContain(id)
    expect(body.fully_decoded_message_hashes).toContain(id)
    expect(body.undecoded_shard_buffer_sizes[id]).toBeUndefined()
    expect(body.total_peer_count).toBe(receiver.view.peers().length)
    expect(body.connected_peers.map((p) => p.peer_id).sort()).toEqual(receiver.view.peers().sort())
    expect(body.full_message_node_count).toBeGreaterThanOrEqual(1)
    if (mode === 'optimum') expect(body.connected_peers.some((p) => p.new_shards > 0)).toBe(true)
    expect(body.connected_peers.some((p) => p.mesh_topics.includes(topic))).toBe(true)
  })
})
