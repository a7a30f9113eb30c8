import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/** Whole-machine usage in percent, each in 0..100. */
export interface SystemUsage {
  cpuUsed: number
  memoryUsed: number
  diskUsed: number
}

/** What a reporter (HTTP health, sidecar Health RPC) needs from SystemStats; tests may pass a stub. */
export type UsageSampler = Pick<SystemStats, 'sample'>

export interface SystemStatsOptions {
  /** Filesystem whose usage is reported (like `df PATH`). The node passes IDENTITY_DIR; default: cwd. */
  diskPath?: string
}

/** CPU percentages over shorter intervals than this are noise: a sample within it reuses the last value. */
const MIN_CPU_INTERVAL_MS = 100

interface CpuSnapshot {
  at: number
  busy: number
  total: number
}

/**
 * Samples CPU, memory and disk usage the way gopsutil (and so the published
 * Go node) reports them. One instance per node; `sample()` never rejects — a
 * figure that cannot be read is reported as 0.
 */
export class SystemStats {
  readonly diskPath: string
  private previous: CpuSnapshot | undefined
  private lastCpu: number | undefined

  constructor(options: SystemStatsOptions = {}) {
    this.diskPath = path.resolve(options.diskPath ?? process.cwd())
    this.previous = cpuSnapshot()
  }

  async sample(): Promise<SystemUsage> {
    const [cpuUsed, memoryUsed, diskUsed] = await Promise.all([
      this.cpuPercent(),
      memoryPercent(),
      diskPercent(this.diskPath),
    ])
    return { cpuUsed, memoryUsed, diskUsed }
  }

  /**
   * Busy share of all CPUs since the previous computed sample. The very first
   * sample waits (once, at most MIN_CPU_INTERVAL_MS) until the snapshot taken in
   * the constructor is old enough to give a meaningful figure.
   */
  private async cpuPercent(): Promise<number> {
    if (this.lastCpu === undefined && this.previous !== undefined) {
      const wait = MIN_CPU_INTERVAL_MS - (performance.now() - this.previous.at)
      if (wait > 0) await delay(wait)
    }
    const current = cpuSnapshot()
    if (current === undefined) return this.lastCpu ?? 0
    if (this.previous === undefined) {
      this.previous = current
      return this.lastCpu ?? 0
    }
    if (this.lastCpu !== undefined && current.at - this.previous.at < MIN_CPU_INTERVAL_MS) return this.lastCpu
    const total = current.total - this.previous.total
    // No clock tick elapsed (or counters went backwards): keep the old snapshot and value.
    if (!(total > 0)) return this.lastCpu ?? 0
    this.lastCpu = clampPercent(((current.busy - this.previous.busy) / total) * 100)
    this.previous = current
    return this.lastCpu
  }
}

function cpuSnapshot(): CpuSnapshot | undefined {
  const cpus = os.cpus()
  if (cpus.length === 0) return undefined
  let busy = 0
  let total = 0
  for (const { times } of cpus) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq
    total += all
    busy += all - times.idle
  }
  return { at: performance.now(), busy, total }
}

/** (total − available) / total, with MemAvailable from /proc/meminfo where there is one. */
async function memoryPercent(): Promise<number> {
  if (process.platform === 'linux') {
    try {
      const meminfo = await fs.readFile('/proc/meminfo', 'utf8')
      const total = meminfoField(meminfo, 'MemTotal')
      const available = meminfoField(meminfo, 'MemAvailable')
      if (total !== undefined && available !== undefined && total > 0) {
        return clampPercent(((total - available) / total) * 100)
      }
    } catch {
      // Fall through to what the OS reports to Node.
    }
  }
  const total = os.totalmem()
  return total > 0 ? clampPercent(((total - os.freemem()) / total) * 100) : 0
}

function meminfoField(meminfo: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo)
  return match ? Number(match[1]) : undefined
}

/**
 * Like `df`: used / (used + available to unprivileged users), so root-reserved
 * blocks count as neither. A path that does not exist (yet) reports the
 * filesystem of its nearest existing ancestor.
 */
async function diskPercent(target: string): Promise<number> {
  let dir = target
  for (;;) {
    try {
      const stats = await fs.statfs(dir)
      const used = stats.blocks - stats.bfree
      const size = used + stats.bavail
      return size > 0 ? clampPercent((used / size) * 100) : 0
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const parent = path.dirname(dir)
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === dir) return 0
      dir = parent
    }
  }
}

function clampPercent(value: number): number {
  if (Number.isNaN(value)) return 0
  return Math.min(100, Math.max(0, value))
}
