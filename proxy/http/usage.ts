import { statfs } from 'node:fs/promises'
import os from 'node:os'

/** Machine usage for `GET /api/v1/health`, as the published proxy shows it: percent strings with two decimals. */
export interface UsageReport {
  memory_used: string
  cpu_used: string
  disk_used: string
}

const percent = (value: number) => (Number.isFinite(value) ? Math.min(100, Math.max(0, value)).toFixed(2) : '0.00')

/**
 * Memory in use, CPU as the 1-minute load over the core count, disk of the
 * working directory's filesystem. A figure that cannot be read is 0.
 */
export async function readUsage(): Promise<UsageReport> {
  let disk = 0
  try {
    const fs = await statfs(process.cwd())
    disk = fs.blocks > 0 ? ((fs.blocks - fs.bfree) / fs.blocks) * 100 : 0
  } catch {
    // unreadable filesystem: report 0
  }
  return {
    memory_used: percent((1 - os.freemem() / os.totalmem()) * 100),
    cpu_used: percent(((os.loadavg()[0] ?? 0) / Math.max(1, os.availableParallelism())) * 100),
    disk_used: percent(disk),
  }
}
