import { ResponseType, type DeliveredMessageJson, type SidecarResponse } from '../../../common/proto.js'
import { decodeTraceEvent, type TraceRecord } from '../../../common/trace-codec.js'
import { SidecarClient } from './network.js'

/** A sidecar stream that keeps every response by kind: messages, decoded trace events, and the response types seen. */
export class TraceClient extends SidecarClient {
  readonly messages: DeliveredMessageJson[] = []
  readonly traces: TraceRecord[] = []
  readonly commands: number[] = []

  protected override onResponse(response: SidecarResponse): void {
    this.commands.push(response.command)
    if (response.command === ResponseType.Message) {
      this.messages.push(JSON.parse(Buffer.from(response.data).toString()) as DeliveredMessageJson)
    } else if (response.command === ResponseType.MessageTraceMumP2P || response.command === ResponseType.MessageTraceGossipSub) {
      this.traces.push(decodeTraceEvent(response.data))
    }
  }
}
