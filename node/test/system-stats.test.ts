import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { SystemStats, type SystemUsage } from '../system-stats.js'

function expectInRange(usage: SystemUsage): void {
  for (const value of [usage.cpuUsed, usage.memoryUsed, usage.diskUsed]) {
    expect(Number.isFinite(value)).toBe(true)
    expect(value).toBeGreaterThanOrEqual(0)
    expect(value).toBeLessThanOrEqual(100)
  }
}

describe('SystemStats', () => {
  it('reports percentages in 0..100', async () => {
    const usage = await new SystemStats().sample()
    expectInRange(usage)
    expect(usage.memoryUsed).toBeGreaterThan(0)
  })

  it('two samples in a row (and a concurrent burst) work', async () => {
    const stats = new SystemStats()
    const first = await stats.sample()
    const second = await stats.sample()
    expectInRange(first)
    expectInRange(second)
    const burst = await Promise.all(Array.from({ length: 10 }, () => stats.sample()))
    for (const usage of burst) expectInRange(usage)
  })

  it('a later sample measures a new interval', async () => {
    const stats = new SystemStats()
    await stats.sample()
    await new Promise((resolve) => setTimeout(resolve, 150))
    // Burn a little CPU so the interval has ticks in it.
    const until = performance.now() + 50
    while (performance.now() < until) Math.sqrt(Math.random())
    expectInRange(await stats.sample())
  })

  it('disk usage of os.tmpdir() and of a path that does not exist yet', async () => {
    const tmp = await new SystemStats({ diskPath: os.tmpdir() }).sample()
    expectInRange(tmp)
    const missing = await new SystemStats({ diskPath: path.join(os.tmpdir(), 'no-such-dir', 'identity') }).sample()
    expectInRange(missing)
    // Same filesystem as its nearest existing ancestor (os.tmpdir()).
    expect(missing.diskUsed).toBeCloseTo(tmp.diskUsed, -1)
  })
})
