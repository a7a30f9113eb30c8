import * as grpc from '@grpc/grpc-js'
import { parseNodeConfig, type NodeConfig, type NodeMode } from '../../../common/config/index.js'
import { silentLogger } from '../../../common/logger.js'
import {
  Command,
  ResponseType,
  type CommandStreamClient,
  type DeliveredMessageJson,
  type SidecarResponse,
} from '../../../common/proto.js'
import { connectSidecar } from '../../../common/sidecar-client.js'
import { startNode, type RunningNode } from '../../node.js'

export { waitFor } from './wait.js'

const VERSION = { version: 'test', commit_hash: 'test' }

/** A node config for tests: loopback, free ports, silent; `env` overrides any variable. */
export function testConfig(mode: NodeMode, env: Record<string, string> = {}): NodeConfig {
  return parseNodeConfig({
    NODE_MODE: mode,
    LISTEN_HOST: '127.0.0.1',
    SIDECAR_PORT: '0',
    API_PORT: '0',
    OPTIMUM_PORT: '0',
    GOSSIPSUB_PORT: '0',
    LOG_LEVEL: 'silent',
    ...env,
  })
}

export function startTestNode(mode: NodeMode, env: Record<string, string> = {}): Promise<RunningNode> {
  return startNode(testConfig(mode, env), silentLogger, VERSION)
}

/** Node 1 first, then the others bootstrapping to it (the published compose topology). */
export async function startNetwork(size: number, mode: NodeMode, env: Record<string, string> = {}): Promise<RunningNode[]> {
  const first = await startTestNode(mode, env)
  const bootstrap = first.multiaddrs()[0]!
  const rest = await Promise.all(
    Array.from({ length: size - 1 }, () => startTestNode(mode, { ...env, BOOTSTRAP_PEERS: bootstrap })),
  )
  return [first, ...rest]
}

export async function stopAll(nodes: Array<{ stop(): Promise<void> }>): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()))
}

/** Every node has at least `peers` mesh peers on the topic. */
export function meshReady(nodes: RunningNode[], topic: string, peers: number): () => boolean {
  return () => nodes.every((node) => node.engine.meshPeers(topic).length >= peers)
}

export interface Received {
  id: string
  topic: string
  data: Buffer
  source: string
}

/** A real gRPC client of one node's sidecar, as the p2p client and the proxy use it. */
export class SidecarClient {
  readonly client: CommandStreamClient
  readonly received: Received[] = []
  readonly errors: unknown[] = []
  private readonly call: grpc.ClientDuplexStream<object, SidecarResponse>

  constructor(port: number) {
    this.client = connectSidecar(`127.0.0.1:${port}`, { keepalive: { keepaliveIntervalMs: 120_000, keepaliveTimeoutMs: 20_000 } })
    this.call = this.client.ListenCommands()
    this.call.on('data', (response: SidecarResponse) => this.onResponse(response))
    this.call.on('error', () => {}) // ends with CANCELLED when we close; assertions look at `received`
  }

  /** Keeps deliveries in `received` and anything else (error responses) in `errors`. */
  protected onResponse(response: SidecarResponse): void {
    if (response.command !== ResponseType.Message) {
      this.errors.push(JSON.parse(Buffer.from(response.data).toString()))
      return
    }
    const json = JSON.parse(Buffer.from(response.data).toString()) as DeliveredMessageJson
    this.received.push({ id: json.MessageID, topic: json.Topic, data: Buffer.from(json.Message, 'base64'), source: json.SourceNodeID })
  }

  /** `trace`: also stream the topic's protocol trace events (Request field 100). */
  subscribe(topic: string, trace = false): void {
    this.call.write({ command: Command.Subscribe, topic, ...(trace ? { trace } : {}) })
  }

  publish(topic: string, data: Uint8Array): boolean {
    return this.call.write({ command: Command.Publish, topic, data: Buffer.from(data) })
  }

  /** The unary Publish RPC: resolves with the ack, rejects with the gRPC error. */
  publishUnary(topic: string, data: Uint8Array, messageId = ''): Promise<{ message_id: string; fresh: boolean }> {
    return new Promise((resolve, reject) => {
      this.client.Publish({ topic, data: Buffer.from(data), message_id: messageId }, (err, ack) => (err ? reject(err) : resolve(ack!)))
    })
  }

  pause(): void {
    this.call.pause()
  }

  close(): void {
    this.call.cancel()
    this.client.close()
  }
}
