import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import protobuf from 'protobufjs'

/**
 * The one place that loads the .proto files. Field names keep their proto
 * spelling (snake_case), bytes arrive as Buffers, enums as numbers, and absent
 * scalars as their defaults: what a Go client sends is what a handler sees.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
}

const protoDir = fileURLToPath(new URL('../proto/', import.meta.url))

function loadPackage(file: string): grpc.GrpcObject {
  const definition = protoLoader.loadSync(file, { ...LOADER_OPTIONS, includeDirs: [protoDir] })
  const root = grpc.loadPackageDefinition(definition)
  return root.proto as grpc.GrpcObject
}

// ---- p2p_stream.proto (the sidecar) ----

export const Command = { Unknown: 0, Publish: 1, Subscribe: 2, Unsubscribe: 3 } as const
export const ResponseType = {
  Unknown: 0,
  Message: 1,
  MessageTraceMumP2P: 2,
  MessageTraceGossipSub: 3,
} as const

export interface SidecarRequest {
  command: number
  data: Buffer
  topic: string
  /** Published field 4: the client's JWT; verified by nodes with SIDECAR_AUTH on, ignored otherwise. */
  jwt_token: string
  /** Our extension (field 100): stream trace responses for a subscribed topic. */
  trace: boolean
}
export interface SidecarResponse {
  command: number
  data: Uint8Array
  metadata?: Uint8Array
}
export interface HealthResponse {
  status: boolean
  nodeMode: string
  memoryUsed: number
  cpuUsed: number
  diskUsed: number
  p2pAddress: string
  country: string
  country_iso: string
}
export interface TopicList {
  topics: string[]
}
export interface PublishRequest {
  topic: string
  data: Buffer
  message_id: string
}
export interface PublishAck {
  message_id: string
  fresh: boolean
}
export type Void = Record<string, never>

/** The JSON carried in a delivered message's `data`, as the published clients parse it. */
export interface DeliveredMessageJson {
  MessageID: string
  Topic: string
  /** base64 of the message bytes */
  Message: string
  SourceNodeID: string
}

export interface CommandStreamClient extends grpc.Client {
  ListenCommands(options?: grpc.CallOptions): grpc.ClientDuplexStream<Partial<SidecarRequest>, SidecarResponse>
  Health(request: Void, callback: grpc.requestCallback<HealthResponse>): grpc.ClientUnaryCall
  ListTopics(request: Void, callback: grpc.requestCallback<TopicList>): grpc.ClientUnaryCall
  Publish(
    request: Partial<PublishRequest>,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<PublishAck>,
  ): grpc.ClientUnaryCall
  Publish(
    request: Partial<PublishRequest>,
    metadata: grpc.Metadata,
    callback: grpc.requestCallback<PublishAck>,
  ): grpc.ClientUnaryCall
  Publish(request: Partial<PublishRequest>, callback: grpc.requestCallback<PublishAck>): grpc.ClientUnaryCall
}

export interface CommandStreamHandlers extends grpc.UntypedServiceImplementation {
  ListenCommands: grpc.handleBidiStreamingCall<SidecarRequest, SidecarResponse>
  Health: grpc.handleUnaryCall<Void, HealthResponse>
  ListTopics: grpc.handleUnaryCall<Void, TopicList>
  Publish: grpc.handleUnaryCall<PublishRequest, PublishAck>
}

type ClientConstructor<C> = (new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C) & {
  service: grpc.ServiceDefinition
}

export function loadSidecarProto(): { CommandStream: ClientConstructor<CommandStreamClient> } {
  const pkg = loadPackage('p2p_stream.proto')
  return { CommandStream: pkg.CommandStream as unknown as ClientConstructor<CommandStreamClient> }
}

// ---- proxy_stream.proto (the proxy's client stream) ----

export interface ProxyMessage {
  client_id: string
  message: Buffer
  topic: string
  message_id: string
  type: string
}

export interface ProxySubscribeRequest {
  client_id: string
  topic: string
  threshold: number
  topics: string[]
}
export interface ProxySubscribeResponse {
  status: string
  topic: string
  client_id: string
}
export interface ProxyPublishRequest {
  client_id: string
  topic: string
  message: Buffer
}
export interface ProxyPublishResponse {
  status: string
  topic: string
  client_id: string
  message_id: string
}
export interface ExposeNodesRequest {
  client_id: string
  expose_amount: number
}
export interface ExposeNodesResponse {
  nodes: string[]
  nodesOptP2P: string[]
}

export interface ProxyStreamClient extends grpc.Client {
  ClientStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<Partial<ProxyMessage>, ProxyMessage>
  ClientStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<Partial<ProxyMessage>, ProxyMessage>
  Publish(request: Partial<ProxyPublishRequest>, callback: grpc.requestCallback<ProxyPublishResponse>): grpc.ClientUnaryCall
  /** With `authorization: Bearer …` metadata when the proxy checks tokens. */
  Publish(request: Partial<ProxyPublishRequest>, metadata: grpc.Metadata, callback: grpc.requestCallback<ProxyPublishResponse>): grpc.ClientUnaryCall
  Subscribe(request: Partial<ProxySubscribeRequest>, callback: grpc.requestCallback<ProxySubscribeResponse>): grpc.ClientUnaryCall
  ExposeNodes(request: Partial<ExposeNodesRequest>, callback: grpc.requestCallback<ExposeNodesResponse>): grpc.ClientUnaryCall
}

export interface ProxyStreamHandlers extends grpc.UntypedServiceImplementation {
  ClientStream: grpc.handleBidiStreamingCall<ProxyMessage, ProxyMessage>
  Publish: grpc.handleUnaryCall<ProxyPublishRequest, ProxyPublishResponse>
  Subscribe: grpc.handleUnaryCall<ProxySubscribeRequest, ProxySubscribeResponse>
  ExposeNodes: grpc.handleUnaryCall<ExposeNodesRequest, ExposeNodesResponse>
}

export function loadProxyProto(): { ProxyStream: ClientConstructor<ProxyStreamClient> } {
  const pkg = loadPackage('proxy_stream.proto')
  return { ProxyStream: pkg.ProxyStream as unknown as ClientConstructor<ProxyStreamClient> }
}

// ---- node-to-node wire formats (plain protobuf, no gRPC) ----

/** A message type of a wire .proto (field names as written there); decode throws on malformed input. */
export function loadWireType(file: string, name: string): protobuf.Type {
  return new protobuf.Root().loadSync(protoDir + file, { keepCase: true }).lookupType(name)
}
