import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { OutboundQueue, type OutboundSink } from '../sidecar/outbound-queue.js'
import { TopicRefs } from '../sidecar/topic-refs.js'

/** A sink that holds what it is given until `send()` lets the oldest `n` go (its write callbacks run). */
class FakeSink implements OutboundSink<number> {
  readonly written: number[] = []
  private pending: (() => void)[] = []

  write(item: number, written: () => void): void {
    this.written.push(item)
    this.pending.push(written)
  }

  /** The oldest `n` held items leave the sink (default: all of them). */
  send(n = this.pending.length): void {
    for (const done of this.pending.splice(0, n)) done()
  }

  get held(): number {
    return this.pending.length
  }
}

function capturingLogger() {
  const lines: { level: number; msg: string; dropped?: number }[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { log, lines }
}

describe('OutboundQueue', () => {
  it('writes straight through while the sink sends', () => {
    const sink = new FakeSink()
    const queue = new OutboundQueue(sink, { capacity: 4, log: silentLogger })
    for (let i = 0; i < 10; i++) {
      queue.push(i)
      sink.send()
    }
    expect(sink.written).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(queue.length).toBe(0)
  })

  it('hands the sink at most its share, holds the rest and sends them in order', async () => {
    const sink = new FakeSink()
    const queue = new OutboundQueue(sink, { capacity: 8, sinkCapacity: 2, log: silentLogger })
    for (let i = 0; i < 5; i++) queue.push(i)
    expect(sink.written).toEqual([0, 1])
    expect(queue.length).toBe(3)
    expect(queue.inFlight).toBe(2)
    const flushed = queue.flush()
    sink.send(1)
    expect(sink.written).toEqual([0, 1, 2])
    sink.send()
    expect(sink.written).toEqual([0, 1, 2, 3, 4])
    await flushed
    expect(queue.length).toBe(0)
  })

  it('counts what the sink holds against the bound: drops the oldest queued, logs once per episode', () => {
    const sink = new FakeSink()
    const { log, lines } = capturingLogger()
    const dropped: number[] = []
    const queue = new OutboundQueue(sink, { capacity: 4, sinkCapacity: 1, log, onDrop: (item) => dropped.push(item) })
    for (let i = 0; i < 10; i++) queue.push(i)
    // 0 is in the sink; 1..9 competed for the 3 other places: the newest stay
    expect(dropped).toEqual([1, 2, 3, 4, 5, 6])
    expect(queue.length + queue.inFlight).toBe(4)
    expect(queue.highWater).toBe(3)
    expect(queue.dropped).toBe(6)
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1)

    for (let i = 0; i < 4; i++) sink.send()
    expect(sink.written).toEqual([0, 7, 8, 9])
    expect(lines.filter((l) => l.level === 30)).toEqual([expect.objectContaining({ dropped: 6 })])

    // a second episode logs again
    for (let i = 10; i < 20; i++) queue.push(i)
    expect(lines.filter((l) => l.level === 40)).toHaveLength(2)
  })

  it('bounds bytes held, queued and in the sink; the sink takes at most half', () => {
    const sink = new FakeSink()
    const dropped: number[] = []
    // items are their own size in bytes
    const queue = new OutboundQueue(sink, { capacity: 100, maxBytes: 10, sizeOf: (item: number) => item, log: silentLogger, onDrop: (item) => dropped.push(item) })
    for (const item of [2, 3, 3, 3]) queue.push(item) // the sink takes 2 and 3 (5 = half); then 3 + 3 > 10 - 5
    expect(sink.written).toEqual([2, 3])
    expect(dropped).toEqual([3])
    expect(queue.heldBytes).toBe(8) // 5 in the sink + 3 queued
    queue.push(4) // 12 > 10: the queued 3 goes
    expect(dropped).toEqual([3, 3])
    expect(queue.heldBytes).toBe(9)
    queue.push(20) // larger than the bound: held alone once the queued 4 is gone
    expect(dropped).toEqual([3, 3, 4])
    expect(queue.length).toBe(1)
    sink.send()
    expect(sink.written).toEqual([2, 3, 20]) // the sink always takes one item, however large
    expect(queue.heldBytes).toBe(20)
  })

  it('close discards what is queued, stops writing and settles flush', async () => {
    const sink = new FakeSink()
    const queue = new OutboundQueue(sink, { capacity: 8, sinkCapacity: 1, log: silentLogger })
    for (let i = 0; i < 5; i++) queue.push(i)
    const flushed = queue.flush()
    queue.close()
    await flushed
    queue.push(99)
    sink.send()
    expect(sink.written).toEqual([0])
    expect(queue.length).toBe(0)
  })

  it('grows its ring only as items wait', () => {
    const sink = new FakeSink()
    const queue = new OutboundQueue(sink, { capacity: 10_000, sinkCapacity: 1, log: silentLogger })
    const ringLength = () => (queue as unknown as { ring: unknown[] }).ring.length
    expect(ringLength()).toBe(0)
    for (let i = 0; i < 40; i++) queue.push(i)
    expect(ringLength()).toBe(64)
    for (let i = 0; i < 40; i++) sink.send()
    expect(sink.written).toEqual(Array.from({ length: 40 }, (_, i) => i))
  })

  it('refuses a capacity below 1', () => {
    expect(() => new OutboundQueue(new FakeSink(), { capacity: 0, log: silentLogger })).toThrow(RangeError)
  })
})

describe('TopicRefs', () => {
  it('subscribes the engine on the first holder and unsubscribes after the last', () => {
    const calls: string[] = []
    const refs = new TopicRefs<string>({ subscribe: (t) => calls.push(`+${t}`), unsubscribe: (t) => calls.push(`-${t}`) })
    expect(refs.add('t', 'a')).toBe(true)
    expect(refs.add('t', 'a')).toBe(false)
    expect(refs.add('t', 'b')).toBe(true)
    expect(refs.count('t')).toBe(2)
    expect(refs.remove('t', 'a')).toBe(true)
    expect(refs.remove('t', 'a')).toBe(false)
    expect(calls).toEqual(['+t'])
    expect(refs.remove('t', 'b')).toBe(true)
    expect(calls).toEqual(['+t', '-t'])
    expect(refs.topics()).toEqual([])
    expect(refs.holdersOf('t')).toBeUndefined()
  })

  it('changes nothing when the engine refuses a subscribe', () => {
    const refs = new TopicRefs<string>({
      subscribe: () => {
        throw new Error('no')
      },
      unsubscribe: () => {},
    })
    expect(() => refs.add('t', 'a')).toThrow('no')
    expect(refs.count('t')).toBe(0)
    expect(refs.topics()).toEqual([])
  })
})
