import * as grpc from '@grpc/grpc-js'
import {
  Command,
  ResponseType,
  type CommandStreamClient,
  type DeliveredMessageJson,
  type SidecarResponse,
} from '../../common/proto.js'
import { connectSidecar } from '../../common/sidecar-client.js'

/** `node` is the 1-based node index; `at` is `performance.now()` when the delivery reached the bench. */
export type DeliveryListener = (node: number, messageId: string, at: number) => void

/** The node writes MessageID first (node/sidecar/delivery-json.ts); the bench's ids need no JSON escaping. */
const LEADING_ID = /^\{"MessageID":"([^"\\]*)"/

/**
 * A delivery's message id, read from the head of its JSON. The bench shares
 * the CPUs with the nodes and sits on the path it times: parsing a whole
 * 1 MiB delivery (1.4 MB of base64) for every node would add milliseconds to
 * the last node's delivery time. Other layouts fall back to a full parse.
 */
function messageIdOf(data: Uint8Array): string {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const head = LEADING_ID.exec(buffer.toString('latin1', 0, Math.min(buffer.length, 512)))
  if (head) return head[1]!
  return (JSON.parse(buffer.toString()) as DeliveredMessageJson).MessageID
}

/**
 * The bench's connection to one node's sidecar, as a proxy or the p2p client
 * would hold it: one ListenCommands stream for deliveries, and the unary
 * Publish RPC with a chosen message id so that deliveries can be matched.
 */
export class SidecarTap {
  /** Error responses and stream failures; a sound run has none. */
  readonly problems: string[] = []
  private readonly client: CommandStreamClient
  private readonly call: grpc.ClientDuplexStream<object, SidecarResponse>
  private closing = false

  readonly node: number

  constructor(where: { index: number; host: string; ports: { sidecar: number } }, onDelivery: DeliveryListener) {
    const node = where.index
    this.node = node
    this.client = connectSidecar(`${where.host}:${where.ports.sidecar}`)
    this.call = this.client.ListenCommands()
    this.call.on('data', (response: SidecarResponse) => {
      const at = performance.now()
      if (response.command === ResponseType.Message) {
        onDelivery(node, messageIdOf(response.data), at)
      } else {
        this.problems.push(`node ${node} sidecar answered: ${Buffer.from(response.data).toString()}`)
      }
    })
    this.call.on('error', (err: grpc.ServiceError) => {
      if (!this.closing) this.problems.push(`node ${node} sidecar stream failed: ${err.message}`)
    })
  }

  subscribe(topic: string): void {
    this.call.write({ command: Command.Subscribe, topic })
  }

  /** Resolves when the node has taken the message into the network; rejects with the gRPC error. */
  publish(topic: string, data: Buffer, messageId: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.Publish({ topic, data, message_id: messageId }, { deadline: Date.now() + timeoutMs }, (err) =>
        err ? reject(err) : resolve(),
      )
    })
  }

  close(): void {
    this.closing = true
    this.call.cancel()
    this.client.close()
  }
}
