import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { loadProxyProto, loadSidecarProto } from '../proto.js'

const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url))
const load = (file: string) => new protobuf.Root().loadSync(protoDir + file, { keepCase: true })

/** name → field number, as the published .proto files declare them. */
function fields(root: protobuf.Root, type: string): Record<string, number> {
  return Object.fromEntries(Object.values(root.lookupType(type).fields).map((f) => [f.name, f.id]))
}

describe('the published wire contract', () => {
  it('keeps every published message, field and number of p2p_stream.proto', () => {
    const root = load('p2p_stream.proto')
    expect(fields(root, 'proto.Request')).toMatchObject({ command: 1, data: 2, topic: 3 })
    expect(fields(root, 'proto.Response')).toMatchObject({ command: 1, data: 2, metadata: 3 })
    expect(fields(root, 'proto.HealthResponse')).toMatchObject({ status: 1, nodeMode: 2, memoryUsed: 3, cpuUsed: 4, diskUsed: 5 })
    expect(fields(root, 'proto.TopicList')).toMatchObject({ topics: 1 })
    expect(root.lookupEnum('proto.ResponseType').values).toMatchObject({
      Unknown: 0,
      Message: 1,
      MessageTraceOptimumP2P: 2,
      MessageTraceGossipSub: 3,
    })
    const service = root.lookupService('proto.CommandStream')
    expect(Object.keys(service.methods)).toEqual(expect.arrayContaining(['ListenCommands', 'Health', 'ListTopics']))
    expect(service.methods.ListenCommands).toMatchObject({ requestType: 'Request', responseType: 'Response', requestStream: true, responseStream: true })
  })

  it('keeps ProxyMessage and ProxyStream.ClientStream of proxy_stream.proto', () => {
    const root = load('proxy_stream.proto')
    expect(fields(root, 'proto.ProxyMessage')).toEqual({ client_id: 1, message: 2, topic: 3, message_id: 4, type: 5 })
    expect(root.lookupService('proto.ProxyStream').methods.ClientStream).toMatchObject({ requestStream: true, responseStream: true })
    expect(fields(root, 'proto.PublishRequest')).toEqual({ client_id: 1, topic: 2, message: 3 })
    expect(fields(root, 'proto.PublishResponse')).toEqual({ status: 1, topic: 2, client_id: 3, message_id: 4 })
    expect(fields(root, 'proto.SubscribeRequest')).toEqual({ client_id: 1, topic: 2, threshold: 3, topics: 4 })
    expect(fields(root, 'proto.SubscribeResponse')).toEqual({ status: 1, topic: 2, client_id: 3 })
    expect(fields(root, 'proto.ExposeNodesRequest')).toEqual({ client_id: 1, expose_amount: 2 })
    expect(fields(root, 'proto.ExposeNodesResponse')).toEqual({ nodes: 1, nodesOptP2P: 2 })
  })

  it('loads both services through the one gRPC loader', () => {
    expect(Object.keys(loadSidecarProto().CommandStream.service)).toEqual(['ListenCommands', 'Health', 'ListTopics', 'Publish'])
    expect(Object.keys(loadProxyProto().ProxyStream.service)).toEqual(['ClientStream', 'Publish', 'Subscribe', 'ExposeNodes'])
  })
})
