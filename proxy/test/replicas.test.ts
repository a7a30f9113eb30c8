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
  /** Subscribes each client (on `subscribeOn` with its threshold), waits for the topic's mesh, connects each over WebSocket to `connectTo`. */
  const clientsOf = async (topic: string, clients: Array<{ id: string; threshold: number; subscribeOn: number; connectTo: number }>) => {
    for (const c of clients) await subscribe(c.subscribeOn, c.id, topic, c.threshold)
    await topicMeshReady(cluster.nodes, topic)
    const sockets = clients.map((c) => connect(c.connectTo, `client_id=${c.id}`))
    await Promise.all(sockets.map((ws) => ws.opened))
    return sockets
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
    const [low, high] = (await clientsOf(topic, [
      { id: 'low', threshold: 0.1, subscribeOn: a, connectTo: a },
      { id: 'high', threshold: 1.0, subscribeOn: b, connectTo: b },
    ])) as [TestWs, TestWs]
    const id = await publish(a, 'low', topic, 'threshold test')
    await waitFor('both deliveries', () => low.frames.length === 1 && high.frames.length === 1)
    expect(low.frames[0]).toMatchObject({ message_id: id, nodes: 1 })
    expect(high.frames[0]).toMatchObject({ message_id: id, nodes: 4 })
  })

  it('with a node down, holds back a 1.0 message (while 0.75 gets it) and delivers what is published after the node is back', async () => {
    const topic = 'node-down'
    const [all, three] = (await clientsOf(topic, [
      { id: 'all-of-them', threshold: 1.0, subscribeOn: a, connectTo: b },
      { id: 'three-of-four', threshold: 0.75, subscribeOn: a, connectTo: a },
    ])) as [TestWs, TestWs]

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
    const [ws] = (await clientsOf('roaming', [{ id: 'roamer', threshold: 0.5, subscribeOn: a, connectTo: b }])) as [TestWs]
    await publish(a, 'roamer', 'roaming', 'from A to B')
    await waitFor('delivery on B', () => ws.frames.length === 1)
    expect(ws.texts()).toEqual(['from A to B'])
  })

  it('replays the 100 messages published while a client was away, in order, on the other replica, then goes on live, without duplicates', async () => {
    const topic = 'replay'
    const [first] = (await clientsOf(topic, [{ id: 'traveller', threshold: 0.5, subscribeOn: a, connectTo: a }])) as [TestWs]
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
    const [ws] = (await clientsOf(topic, [{ id: 'rewinder', threshold: 0.25, subscribeOn: a, connectTo: a }])) as [TestWs]
    for (let i = 0; i < 5; i++) await publish(a, 'rewinder', topic, `s${i}`)
    await waitFor('5 live', () => ws.frames.length === 5)
    await ws.close()
    const again = connect(b, `client_id=rewinder&since=${ws.frames[1]!.cursor}`)
    await again.opened
    await waitFor('3 replayed', () => again.frames.length === 3)
    expect(again.texts()).toEqual(['s2', 's3', 's4'])
  })
})
