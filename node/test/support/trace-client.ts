import type * as grpc from '@grpc/grpc-js'
import { Command, ResponseType, type CommandStreamClient, type DeliveredMessageJson, type SidecarResponse } from '../../../common/proto.js'
import { connectSidecar } from '../../../common/sidecar-client.js'
import { decodeTraceEvent, type TraceRecord } from '../../../common/trace-codec.js'

/** A sidecar stream that keeps every response by kind: messages, decoded trace events, and the response types seen. */
export class TraceClient {
  readonly client: CommandStreamClient
  readonly messages: DeliveredMessageJson[] = []
  readonly traces: TraceRecord[] = []
  readonly commands: number[] = []
  private readonly call: grpc.ClientDuplexStream<object, SidecarResponse>

  constructor(port: number) {
    this.client = connectSidecar(`127.0.0.1:${port}`, { keepalive: { keepaliveIntervalMs: 120_000, keepaliveTimeoutMs: 20_000 } })
    this.call = this.client.ListenCommands()
    this.call.on('data', (response: SidecarResponse) => {
      this.commands.push(response.command)
      if (response.command === ResponseType.Message) {
        this.messages.push(JSON.parse(Buffer.from(response.data).toString()) as DeliveredMessageJson)
      } else if (response.command === ResponseType.MessageTraceMumP2P || response.command === ResponseType.MessageTraceGossipSub) {
        this.traces.push(decodeTraceEvent(response.data))
      }
    })
    this.call.on('error', () => {})
  }

  subscribe(topic: string, trace: boolean): void {
    this.call.write({ command: Command.Subscribe, topic, trace })
  }

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
