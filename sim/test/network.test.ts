import { describe, expect, it } from 'vitest'
import { EventQueue } from '../../common/event-queue.js'
import { SimRandom } from '../random.js'
import { SimNetwork, type NetworkOptions } from '../network.js'

/** Hosts that record when each frame (a label) arrived. */
function world(options: Partial<NetworkOptions>, keys: string[]) {
  const queue = new EventQueue()
  const network = new SimNetwork(queue, new SimRandom(1), {
    uplinkBytesPerMs: Infinity,
    downlinkBytesPerMs: Infinity,
    latencyMs: [5, 5],
    loss: 0,
    drainBelowBytes: Infinity,
    ...options,
  })
  const arrivals: Array<[string, number]> = []
  const drained: Array<[string, number]> = []
  for (const key of keys) {
    network.addHost(key, {
      linkUp: () => {},
      linkDown: () => {},
      receive: (from, frame) => arrivals.push([`${from}>${key}:${String(frame)}`, queue.now]),
      uplinkDrained: () => drained.push([key, queue.now]),
    })
  }
  const run = (): void => void queue.runUntil(() => false, 1e9)
  return { queue, network, arrivals, drained, run }
}

describe('modelled network', () => {
  it('queues frames on the sender uplink, so a busy uplink delays later frames to other peers', () => {
    const { network, arrivals, run } = world({ uplinkBytesPerMs: 10 }, ['a', 'b', 'c'])
    network.connect('a', 'b')
    network.connect('a', 'c')
    network.send('a', 'b', 10_000, 'big1')
    network.send('a', 'c', 10_000, 'big2')
    expect(network.backlog('a', 'b')).toBe(10_000)
    // A small control frame skips b's bulk data but not the frame queued on its own link.
    network.send('a', 'c', 100, 'ctl')
    run()
    expect(arrivals).toEqual([['a>b:big1', 1005], ['a>c:big2', 2005], ['a>c:ctl', 2015]])
    expect(network.backlog('a', 'b')).toBe(0)
  })

  it('queues frames from several senders on the receiver downlink', () => {
    const { network, arrivals, run } = world({ downlinkBytesPerMs: 10 }, ['a', 'b', 'c'])
    network.connect('a', 'c')
    network.connect('b', 'c')
    network.send('a', 'c', 10_000, 'x')
    network.send('b', 'c', 10_000, 'y')
    run()
    expect(arrivals).toEqual([['a>c:x', 1005], ['b>c:y', 2005]])
  })

  it('tells the sender once its uplink backlog, towards all peers together, falls below the bound', () => {
    const { network, drained, run } = world({ uplinkBytesPerMs: 10, drainBelowBytes: 15_000 }, ['a', 'b', 'c'])
    network.connect('a', 'b')
    network.connect('a', 'c')
    for (let i = 0; i < 3; i++) network.send('a', i === 1 ? 'c' : 'b', 10_000, `f${i}`)
    expect(network.uplinkBacklog('a')).toBe(30_000)
    run()
    // 30,000 queued, at most 20,000 towards one peer; below 15,000 once the second frame has left (t = 2000).
    expect(drained).toEqual([['a', 2000]])
  })

  it('delays a lost frame by a retransmission timeout and keeps the link in order', () => {
    const { network, arrivals, run } = world({ loss: 0.5 }, ['a', 'b'])
    network.connect('a', 'b')
    for (let i = 0; i < 20; i++) network.send('a', 'b', 100, i)
    run()
    expect(arrivals.map(([label]) => label)).toEqual(Array.from({ length: 20 }, (_, i) => `a>b:${i}`))
    const times = arrivals.map(([, at]) => at)
    expect(times.some((at) => at >= 5 + 200)).toBe(true)
    expect(times).toEqual([...times].sort((x, y) => x - y))
  })
})
