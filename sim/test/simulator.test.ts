import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel, type Kernel } from '../../common/rlnc/index.js'
import { parseSimArgs } from '../options.js'
import { DEFAULT_CONFIG, runSimulation, type SimConfig, type SimResult } from '../run.js'

let kernel: Kernel

beforeAll(async () => {
  kernel = await loadKernel()
})

function config(overrides: Partial<SimConfig>): SimConfig {
  return { ...DEFAULT_CONFIG, ...overrides }
}

/** Everything but the wall time, which is the only thing a seed does not fix. */
function seeded(result: SimResult): Omit<SimResult, 'wallMs'> {
  const { wallMs: _, ...rest } = result
  return rest
}

describe('simulator runs', () => {
  it('delivers 1 MiB messages to all of 200 nodes with 1% loss, in both modes, without stalling', () => {
    for (const mode of ['optimum', 'gossip'] as const) {
      const result = runSimulation(config({ mode, nodes: 200, messages: 4, rate: 0.25, loss: 0.01, seed: 7 }), { kernel })
      expect(result.finished, mode).toBe(true)
      expect(result.completeness, mode).toBe(1)
      expect(result.timeToAll.complete, mode).toBe(4)
      expect(result.amplification, mode).toBeGreaterThanOrEqual(1)
      expect(result.bytesByKind.payload, mode).toBeGreaterThan(0)
    }
  })

  it('is a function of its seed: the same seed gives the same run, another seed another one', () => {
    const base = config({ nodes: 60, messages: 3, rate: 0.5, churn: 0.5, seed: 11 })
    const first = runSimulation(base, { kernel })
    const again = runSimulation(base, { kernel })
    const other = runSimulation({ ...base, seed: 12 }, { kernel })
    expect(seeded(again)).toEqual(seeded(first))
    expect(first.left).toBeGreaterThan(0)
    expect(other.bytesSent).not.toBe(first.bytesSent)
  })

  it('runs real payloads end to end (full mode) as well as modelled ones', () => {
    const result = runSimulation(config({ nodes: 30, messages: 2, size: 64 * 1024, payload: 'full', seed: 3 }), { kernel })
    expect(result.payload).toBe('full')
    expect(result.completeness).toBe(1)
  })
})

describe('simulator flags', () => {
  it('parses sizes, ranges, percentages and both modes', () => {
    const { config: parsed, modes } = parseSimArgs(['--nodes', '1000', '--size=64KiB', '--latency', '10-30', '--loss', '2%', '--mode', 'both', '--mesh-target', '8'])
    expect(parsed).toMatchObject({ nodes: 1000, size: 65536, latencyMs: [10, 30], loss: 0.02, mesh: { min: 3, target: 8, max: 12 } })
    expect(modes).toEqual(['optimum', 'gossip'])
  })

  it('refuses a bad value with one line naming the flag', () => {
    expect(() => parseSimArgs(['--loss', 'lots'])).toThrow(/^--loss: expected a number/)
    expect(() => parseSimArgs(['--mesh-min', '9', '--mesh-target', '6'])).toThrow(/min ≤ target ≤ max/)
  })
})
