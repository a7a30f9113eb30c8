import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getJson, postJson, startCluster, TestWs, topicMeshReady, waitFor, waitForAsync, type TestCluster } from './support/cluster.js'

/**
 * Two replicas over one Redis prefix and four gossipsub nodes: cluster-wide
 * thresholds, any replica serving any client, replay after reconnect.
 */
describe('two proxy replicas on 4 nodes', () => {
  let cluster: TestCluster
  let a: number
  let b: number
  const sockets: TestWs[] = []
  const connect = (port: number, query: string) => {
    const ws = new TestWs(port, query)
    sockets.push(ws)
    return ws
  }
  const subscribe = async (port: number, client: string, topic: string, threshold: number) => {
    const { json } = await postJson(port, '/api/v1/subscribe', { client_id: client, topic, threshold })
    expect(json.status).toBe('subscribed')
  }
  const publish = async (port: number, client: string, topic: string, message: string) => {
    const { status, json } = await postJson(port, '/api/v1/publish', { client_id: client, topic, message })
    expect(status, JSON.stringify(json)).toBe(200)
    return json.message_id as string
  }

  beforeAll(async () => {
    cluster = await startCluster('replicas', 2)
    a = cluster.proxies[0]!.ports.http
    b = cluster.proxies[1]!.ports.http
  }, 60_000)
  afterAll(async () => {
    for (const ws of sockets) ws.ws.terminate()
    await cluster.stop()
  })

  it('delivers at threshold 0.1 after one node and at 1.0 only once all four hold the message', async () => {
    const topic = 'thresholds'
    await subscribe(a, 'low', topic, 0.1)
    await subscribe(b, 'high', topic, 1.0)
    await topicMeshReady(cluster.nodes, topic)
    const low = connect(a, 'client_id=low')
    const high = connect(b, 'client_id=high')
    await Promise.all([low.opened, high.opened])
    const id = await publish(a, 'low', topic, 'threshold test')
    await waitFor('both deliveries', () => low.frames.length === 1 && high.frames.length === 1)
    expect(low.frames[0]).toMatchObject({ message_id: id, nodes: 1 })
    expect(high.frames[0]).toMatchObject({ message_id: id, nodes: 4 })
  })

  it('with a node down, holds back a 1.0 message (while 0.75 gets it) and delivers what is published after the node is back', async () => {
    const topic = 'node-down'
    await subscribe(a, 'all-of-them', topic, 1.0)
    await subscribe(a, 'three-of-four', topic, 0.75)
    await topicMeshReady(cluster.nodes, topic)
    const all = connect(b, 'client_id=all-of-them')
    const three = connect(a, 'client_id=three-of-four')
    await Promise.all([all.opened, three.opened])

    await cluster.stopNode(3)
    const held = await publish(a, 'all-of-them', topic, 'while node 4 is down')
    // Three nodes hold it once the 0.75 client has it: the fourth will never report it.
    await waitFor('0.75 delivery', () => three.frames.some((f) => f.message_id === held))
    await cluster.restartNode(3)
    // Both replicas redial the node and subscribe it again; then its mesh forms.
    for (const port of [a, b]) {
      await waitForAsync('every node link up', async () => {
        const { json } = await getJson(port, '/api/v1/state')
        return (json.nodes as Array<{ state: string }>).every((n) => n.state === 'up')
      })
    }
    await topicMeshReady(cluster.nodes, topic)
    const after = await publish(a, 'all-of-them', topic, 'after node 4 is back')
    await waitFor('the 1.0 delivery', () => all.frames.length > 0, 20_000)
    expect(all.frames[0]).toMatchObject({ message_id: after, nodes: 4 })
    expect(all.frames.map((f) => f.message_id)).not.toContain(held)
  }, 60_000)

  it('serves over WebSocket on replica B a client that subscribed on replica A', async () => {
    await subscribe(a, 'roamer', 'roaming', 0.5)
    await topicMeshReady(cluster.nodes, 'roaming')
    const ws = connect(b, 'client_id=roamer')
    await ws.opened
    await publish(a, 'roamer', 'roaming', 'from A to B')
    await waitFor('delivery on B', () => ws.frames.length === 1)
    expect(ws.texts()).toEqual(['from A to B'])
  })

  it('replays the 100 messages published while a client was away, in order, on the other replica, then goes on live, without duplicates', async () => {
    const topic = 'replay'
    await subscribe(a, 'traveller', topic, 0.5)
    await topicMeshReady(cluster.nodes, topic)
    const first = connect(a, 'client_id=traveller')
    await first.opened
    await publish(a, 'traveller', topic, 'before')
    await waitFor('live delivery', () => first.frames.length === 1)
    await first.close()

    const sent: string[] = []
    for (let i = 0; i < 100; i++) sent.push(await publish(i % 2 ? a : b, 'traveller', topic, `away ${i}`))
    const second = connect(b, 'client_id=traveller')
    await second.opened
    await waitFor('replay of 100', () => second.frames.length >= 100, 20_000)
    const live = await publish(b, 'traveller', topic, 'live again')
    await waitFor('live after replay', () => second.frames.some((f) => f.message_id === live))
    const ids = second.frames.map((f) => f.message_id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids.slice(0, 100).sort()).toEqual([...sent].sort())
    expect(second.texts().slice(0, 100)).toEqual(sent.map((_, i) => `away ${i}`))
    expect(ids.at(-1)).toBe(live)
    // Cursors grow strictly.
    const cursors = second.frames.map((f) => f.cursor.split('-').map(BigInt))
    for (let i = 1; i < cursors.length; i++) {
      const [p, c] = [cursors[i - 1]!, cursors[i]!]
      expect(c[0]! > p[0]! || (c[0] === p[0] && c[1]! > p[1]!)).toBe(true)
    }
  }, 60_000)

  it('replays from an explicit since=<cursor> instead of the stored cursor', async () => {
    const topic = 'since'
    await subscribe(a, 'rewinder', topic, 0.25)
    await topicMeshReady(cluster.nodes, topic)
    const ws = connect(a, 'client_id=rewinder')
    await ws.opened
    for (let i = 0; i < 5; i++) await publish(a, 'rewinder', topic, `s${i}`)
    await waitFor('5 live', () => ws.frames.length === 5)
    await ws.close()
    const again = connect(b, `client_id=rewinder&since=${ws.frames[1]!.cursor}`)
    await again.opened
    await waitFor('3 replayed', () => again.frames.length === 3)
    expect(again.texts()).toEqual(['s2', 's3', 's4'])
  })
})
