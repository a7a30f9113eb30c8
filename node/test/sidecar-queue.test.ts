import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import { OutboundQueue, type OutboundSink } from '../sidecar/outbound-queue.js'
import { TopicRefs } from '../sidecar/topic-refs.js'

/** A sink that accepts `room` items, then reports full until `drain()` is called. */
class FakeSink implements OutboundSink<number> {
  readonly written: number[] = []
  private listeners: (() => void)[] = []
  private held = 0

  constructor(private room: number) {}

  write(item: number): boolean {
    this.written.push(item)
    this.held++
    return this.held < this.room
  }

  onceDrain(listener: () => void): () => void {
    this.listeners.push(listener)
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  drain(): void {
    this.held = 0
    const listeners = this.listeners
    this.listeners = []
    for (const listener of listeners) listener()
  }

  get waiting(): number {
    return this.listeners.length
  }
}

function capturingLogger() {
  const lines: { level: number; msg: string; dropped?: number }[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { log, lines }
}

describe('OutboundQueue', () => {
  it('writes straight through while the sink accepts', () => {
    const sink = new FakeSink(100)
    const queue = new OutboundQueue(sink, { capacity: 4, log: silentLogger })
    for (let i = 0; i < 10; i++) queue.push(i)
    expect(sink.written).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(queue.length).toBe(0)
  })

  it('holds items while the sink is full and sends them in order on drain', async () => {
    const sink = new FakeSink(2)
    const queue = new OutboundQueue(sink, { capacity: 4, log: silentLogger })
    for (let i = 0; i < 5; i++) queue.push(i)
    expect(sink.written).toEqual([0, 1])
    expect(queue.length).toBe(3)
    const flushed = queue.flush()
    sink.drain() // takes 2, full again
    expect(sink.written).toEqual([0, 1, 2, 3])
    sink.drain()
    expect(sink.written).toEqual([0, 1, 2, 3, 4])
    await flushed
    expect(queue.length).toBe(0)
  })

  it('drops the oldest queued item when full, counts each drop, logs once per episode', () => {
    const sink = new FakeSink(1)
    const { log, lines } = capturingLogger()
    const dropped: number[] = []
    const queue = new OutboundQueue(sink, { capacity: 3, log, onDrop: (item) => dropped.push(item) })
    for (let i = 0; i < 10; i++) queue.push(i)
    // 0 went to the sink; 1..9 competed for 3 places: the newest stay
    expect(dropped).toEqual([1, 2, 3, 4, 5, 6])
    expect(queue.length).toBe(3)
    expect(queue.highWater).toBe(3)
    expect(queue.dropped).toBe(6)
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1)

    for (let i = 0; i < 3; i++) sink.drain()
    expect(sink.written).toEqual([0, 7, 8, 9])
    expect(lines.filter((l) => l.level === 30)).toEqual([expect.objectContaining({ dropped: 6 })])

    // a second episode logs again
    for (let i = 10; i < 20; i++) queue.push(i)
    expect(lines.filter((l) => l.level === 40)).toHaveLength(2)
  })

  it('also bounds the bytes it holds: large items push out as many old ones as they need', () => {
    const sink = new FakeSink(1)
    const dropped: number[] = []
    // items are their own size in bytes
    const queue = new OutboundQueue(sink, { capacity: 100, maxBytes: 10, sizeOf: (item: number) => item, log: silentLogger, onDrop: (item) => dropped.push(item) })
    for (const item of [1, 3, 3, 3]) queue.push(item) // 1 goes to the sink; 9 bytes held
    expect(queue.length).toBe(3)
    queue.push(5) // 14 > 10: the two oldest 3s go
    expect(dropped).toEqual([3, 3])
    queue.push(20) // larger than the bound: held alone
    expect(dropped).toEqual([3, 3, 3, 5])
    expect(queue.length).toBe(1)
    sink.drain()
    expect(sink.written).toEqual([1, 20])
    queue.push(10) // the sink is full again, but the byte count went back to 0: 10 fits
    expect(queue.length).toBe(1)
    expect(dropped).toEqual([3, 3, 3, 5])
  })

  it('close discards what is queued, stops writing and settles flush', async () => {
    const sink = new FakeSink(1)
    const queue = new OutboundQueue(sink, { capacity: 8, log: silentLogger })
    for (let i = 0; i < 5; i++) queue.push(i)
    const flushed = queue.flush()
    queue.close()
    await flushed
    expect(sink.waiting).toBe(0)
    queue.push(99)
    sink.drain()
    expect(sink.written).toEqual([0])
    expect(queue.length).toBe(0)
  })

  it('refuses a capacity below 1', () => {
    expect(() => new OutboundQueue(new FakeSink(1), { capacity: 0, log: silentLogger })).toThrow(RangeError)
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
