/** The endpoint table printed once the stack is ready. */
import type { StackPlan } from './plan.js'
import type { NodeStatus } from './readiness.js'
import { urlHost } from './readiness.js'

export interface TableInput {
  plan: StackPlan
  nodes: NodeStatus[]
  pids: Map<string, number | undefined>
  redis?: { url: string; note: string }
}

export function endpointTable({ plan, nodes, pids, redis }: TableInput): string {
  const host = urlHost(plan.options.host)
  const rows: string[][] = [['service', 'pid', 'HTTP', 'gRPC', 'p2p']]
  const pid = (name: string) => String(pids.get(name) ?? '-')
  plan.nodes.forEach((node, i) => {
    const status = nodes[i]
    rows.push([
      node.name,
      pid(node.name),
      `http://${host}:${node.ports.api}`,
      `${host}:${node.ports.sidecar} (sidecar)`,
      `/${plan.options.host.includes(':') ? 'ip6' : 'ip4'}/${plan.options.host}/tcp/${node.ports.p2p}/p2p/${status?.peerId ?? '?'}`,
    ])
  })
  for (const proxy of plan.proxies) {
    rows.push([proxy.name, pid(proxy.name), `http://${host}:${proxy.ports.http}  ws://${host}:${proxy.ports.http}/api/v1/ws`,
      `${host}:${proxy.ports.grpc}`, ''])
  }
  if (redis) rows.push(['redis', pid('redis'), redis.url, '', redis.note])
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')
}
