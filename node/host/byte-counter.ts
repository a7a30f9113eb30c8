import type { Metrics, MultiaddrConnection } from '@libp2p/interface'

type Chunk = Parameters<MultiaddrConnection['send']>[0]

export interface Transfer {
  sent: number
  received: number
}

/**
 * Counts the bytes every libp2p connection of one node puts on and takes off
 * the wire (after encryption and muxing: what the network carries). libp2p's
 * published metrics packages either do not support libp2p 3 or keep their
 * state in one module-level map, which breaks with many nodes in one process;
 * libp2p only needs `trackMultiaddrConnection` to see every connection, so this
 * implements that and answers the rest of the Metrics interface with no-ops.
 */
export class ByteCounter {
  readonly transfer: Transfer = { sent: 0, received: 0 }

  /** The factory libp2p's `metrics` option takes. */
  metrics(): Metrics {
    const counter = this
    const ignored = { update() {}, increment() {}, decrement() {}, reset() {}, observe() {}, timer: () => () => {} }
    // Calculated metrics (options with `calculate`) return nothing; the others get a sink.
    const register = ((_name: string, options?: { calculate?: unknown }) =>
      options?.calculate === undefined ? ignored : undefined) as never
    return {
      trackMultiaddrConnection(connection: MultiaddrConnection) {
        counter.track(connection)
      },
      trackProtocolStream() {},
      registerMetric: register,
      registerMetricGroup: register,
      registerCounter: register,
      registerCounterGroup: register,
      registerHistogram: register,
      registerHistogramGroup: register,
      registerSummary: register,
      registerSummaryGroup: register,
      traceFunction: ((_name: string, fn: unknown) => fn) as Metrics['traceFunction'],
      createTrace: () => undefined,
    }
  }

  private track(connection: MultiaddrConnection): void {
    const { transfer } = this
    const send = connection.send.bind(connection)
    connection.send = (data: Chunk) => {
      transfer.sent += data.byteLength
      return send(data)
    }
    // Every inbound chunk passes through onData (AbstractMessageStream); the
    // interface does not declare it, so guard for other implementations.
    const withOnData = connection as MultiaddrConnection & { onData?: (data: Chunk) => void }
    const onData = withOnData.onData?.bind(connection)
    if (onData === undefined) return
    withOnData.onData = (data) => {
      transfer.received += data.byteLength
      onData(data)
    }
  }
}
