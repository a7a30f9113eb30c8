import { afterEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../../common/logger.js'
import type { TracerSnapshot } from '../tracer/stats.js'
import { FEED_MS, LiveFeed } from '../ui/feed.js'
import type { LiveState, LiveView } from '../ui/live-state.js'

/** A live state whose view is `bytes` large and changes whenever `version` is bumped. */
function fakeState(bytes: number): LiveState & { version: number } {
  const view: LiveView = { nodes: [], topics: ['x'.repeat(bytes)], messages: [] }
  return { version: 0, view: () => view } as unknown as LiveState & { version: number }
}

const noTracer = async (): Promise<TracerSnapshot> => {
  throw new Error('no Redis in this test')
}

describe('live feed', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends at most one frame per period however often the state changes, and none when nothing changed', async () => {
    vi.useFakeTimers()
    const state = fakeState(10)
    const feed = new LiveFeed(state, noTracer, silentLogger)
    feed.start()
    const browser = feed.open()!
    let frames = 0
    browser.on('data', (chunk: Buffer) => {
      frames += chunk.toString().split('\n\n').filter((part) => part.startsWith('data: ')).length
    })
    for (let period = 0; period < 20; period++) {
      for (let change = 0; change < 1000; change++) state.version++
      await vi.advanceTimersByTimeAsync(FEED_MS)
    }
    expect(frames).toBe(20)
    await vi.advanceTimersByTimeAsync(FEED_MS * 5)
    expect(frames).toBeLessThanOrEqual(20 + 5) // the tracer figures are retried once a second at most
    feed.stop()
  })

  it('holds at most about 1 MiB for a browser that does not read', async () => {
    vi.useFakeTimers()
    const state = fakeState(256 * 1024)
    const feed = new LiveFeed(state, noTracer, silentLogger)
    feed.start()
    const stalled = feed.open()!
    stalled.pause()
    for (let period = 0; period < 50; period++) {
      state.version++
      await vi.advanceTimersByTimeAsync(FEED_MS)
    }
    expect(stalled.readableLength + stalled.writableLength).toBeLessThanOrEqual(1024 * 1024 + 300 * 1024)
    feed.stop()
  })
})
