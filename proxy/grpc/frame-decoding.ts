import type * as grpc from '@grpc/grpc-js'

const UNDECODABLE = Symbol('undecodable frame')

/** A request whose bytes are not the message the method takes. */
export interface Undecodable {
  readonly [UNDECODABLE]: string
}

export function isUndecodable(request: unknown): request is Undecodable {
  return typeof request === 'object' && request !== null && UNDECODABLE in request
}

/** Why the frame could not be decoded, for the client. */
export function undecodableReason(request: Undecodable): string {
  return request[UNDECODABLE]
}

/**
 * The service with request decoding that never throws: grpc-js answers a
 * frame it cannot decode with INTERNAL "Error deserializing request", which
 * tells a client nothing. Handlers get an `Undecodable` instead and answer
 * INVALID_ARGUMENT with the reason.
 */
export function withTolerantDecoding(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const tolerant: Record<string, grpc.MethodDefinition<unknown, unknown>> = {}
  for (const [name, method] of Object.entries(service)) {
    const decode = method.requestDeserialize
    tolerant[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes)
        } catch (err) {
          return { [UNDECODABLE]: err instanceof Error ? err.message : String(err) } satisfies Undecodable
        }
      },
    }
  }
  return tolerant as grpc.ServiceDefinition
}
