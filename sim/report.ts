import type { SimConfig, SimResult } from './run.js'

const MiB = 1024 * 1024

function ms(n: number | null): string {
  return n === null ? 'n/a' : n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`
}

function bytes(n: number): string {
  return n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`
}

/** The human-readable summary of one run. */
export function formatResult(config: SimConfig, result: SimResult): string[] {
  const setting =
    result.mode === 'optimum'
      ? `k=${config.shardFactor} mult=${config.shardMultiplier} threshold=${config.threshold} mesh=${config.mesh.min}/${config.mesh.target}/${config.mesh.max} payload=${result.payload}`
      : `D=${config.mesh.target} Dlo=${config.mesh.min} Dhi=${config.mesh.max} floodPublish=${config.floodPublish}`
  const kinds = Object.entries(result.bytesByKind)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${bytes(n)}`)
    .join(', ')
  return [
    `${result.mode}: ${result.nodes} nodes, ${result.messages} × ${bytes(result.size)}, seed ${result.seed}; ${setting}`,
    `  completeness ${(result.completeness * 100).toFixed(3)}%${result.finished ? '' : ' (stopped at the drain limit)'}`,
    `  time to all nodes: p50 ${ms(result.timeToAll.p50)}, p99 ${ms(result.timeToAll.p99)}, max ${ms(result.timeToAll.max)} (${result.timeToAll.complete}/${result.messages} messages reached all)`,
    `  per-node delivery: p50 ${ms(result.delivery.p50)}, p90 ${ms(result.delivery.p90)}, p99 ${ms(result.delivery.p99)}, max ${ms(result.delivery.max)}`,
    `  amplification ${result.amplification} (${bytes(result.bytesSent)} sent: ${kinds})`,
    `  ${result.events} events, ${(result.virtualMs / 1000).toFixed(1)} s virtual in ${(result.wallMs / 1000).toFixed(1)} s wall${result.joined > 0 ? `, churn ${result.left} left / ${result.joined} joined` : ''}`,
  ]
}

/** optimum ÷ gossip for the compared figures (null when either is missing). */
export function ratios(optimum: SimResult, gossip: SimResult): Record<string, number | null> {
  const div = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 1000) / 1000)
  return {
    timeToAllP50: div(optimum.timeToAll.p50, gossip.timeToAll.p50),
    timeToAllP99: div(optimum.timeToAll.p99, gossip.timeToAll.p99),
    amplification: div(optimum.amplification, gossip.amplification),
  }
}
