import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'
import { describe, expect, it } from 'vitest'
import { loadProxyProto, loadSidecarProto } from '../proto.js'

const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url))
const load = (file: string) => new protobuf.Root().loadSync(protoDir + file, { keepCase: true })

/**
 * The messages of the newest published p2p_stream.proto
 * (getoptimum/optimum-dev-setup-guide, grpc_p2p_client/proto/p2p_stream.proto),
 * written out with its field numbers: what a client built from it sends and reads.
 */
const PUBLISHED_P2P_STREAM = `
syntax = "proto3";
package proto;
message HealthResponse {
  bool status = 1; string nodeMode = 2; float memoryUsed = 3; float cpuUsed = 4; float diskUsed = 5;
  string p2pAddress = 6; string country = 7; string country_iso = 8;
}
enum ResponseType { Unknown = 0; Message = 1; MessageTraceMumP2P = 2; MessageTraceGossipSub = 3; }
message Request { int32 command = 1; bytes data = 2; string topic = 3; string jwt_token = 4; }
message Response { ResponseType command = 1; bytes data = 2; bytes metadata = 3; }
`

/** name → field number, as the published .proto files declare them. */
function fields(root: protobuf.Root, type: string): Record<string, number> {
  return Object.fromEntries(Object.values(root.lookupType(type).fields).map((f) => [f.name, f.id]))
}

describe('the published wire contract', () => {
  it('keeps every published message, field and number of p2p_stream.proto', () => {
    const root = load('p2p_stream.proto')
    expect(fields(root, 'proto.Request')).toMatchObject({ command: 1, data: 2, topic: 3, jwt_token: 4 })
    expect(fields(root, 'proto.Response')).toMatchObject({ command: 1, data: 2, metadata: 3 })
    expect(fields(root, 'proto.HealthResponse')).toMatchObject({
      status: 1, nodeMode: 2, memoryUsed: 3, cpuUsed: 4, diskUsed: 5, p2pAddress: 6, country: 7, country_iso: 8,
    })
    expect(fields(root, 'proto.TopicList')).toMatchObject({ topics: 1 })
    expect(root.lookupEnum('proto.ResponseType').values).toMatchObject({
      Unknown: 0,
      Message: 1,
      MessageTraceMumP2P: 2,
      MessageTraceGossipSub: 3,
    })
    // our extensions use numbers the published messages do not
    const published = protobuf.parse(PUBLISHED_P2P_STREAM, { keepCase: true }).root
    for (const type of ['proto.Request', 'proto.HealthResponse', 'proto.Response']) {
      const ours = Object.entries(fields(root, type))
      const theirs = fields(published, type)
      for (const [name, id] of ours) if (!(name in theirs)) expect(Object.values(theirs), `${type}.${name}`).not.toContain(id)
    }
    const service = root.lookupService('proto.CommandStream')
    expect(Object.keys(service.methods)).toEqual(expect.arrayContaining(['ListenCommands', 'Health', 'ListTopics']))
    expect(service.methods.ListenCommands).toMatchObject({ requestType: 'Request', responseType: 'Response', requestStream: true, responseStream: true })
  })

  it('decodes what a client of the published proto sends, and it decodes what we send', () => {
    const published = protobuf.parse(PUBLISHED_P2P_STREAM, { keepCase: true }).root
    const service = loadSidecarProto().CommandStream.service
    const listen = service.ListenCommands!
    const health = service.Health!

    // a published client's Request with a JWT: we read the token, and no trace opt-in
    const PublishedRequest = published.lookupType('proto.Request')
    const sent = PublishedRequest.encode({ command: 2, topic: 't', jwt_token: 'eyJ.token' }).finish()
    expect(listen.requestDeserialize(Buffer.from(sent))).toMatchObject({ command: 2, topic: 't', jwt_token: 'eyJ.token', trace: false })

    // our trace opt-in is invisible to a published decoder (not mistaken for jwt_token)
    const ours = listen.requestSerialize({ command: 2, topic: 't', trace: true })
    expect(PublishedRequest.toObject(PublishedRequest.decode(ours), { defaults: true })).toEqual({ command: 2, data: Buffer.alloc(0), topic: 't', jwt_token: '' })

    // our HealthResponse, read with the published numbers
    const bytes = health.responseSerialize({
      status: true, nodeMode: 'gossipsub', memoryUsed: 1, cpuUsed: 2, diskUsed: 3,
      p2pAddress: '/ip4/10.0.0.1/tcp/7070/p2p/12D3KooWX', country: 'Germany', country_iso: 'DE',
    })
    const PublishedHealth = published.lookupType('proto.HealthResponse')
    expect(PublishedHealth.toObject(PublishedHealth.decode(bytes))).toMatchObject({
      status: true, nodeMode: 'gossipsub', p2pAddress: '/ip4/10.0.0.1/tcp/7070/p2p/12D3KooWX', country: 'Germany', country_iso: 'DE',
    })
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
