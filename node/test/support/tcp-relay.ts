import * as net from 'node:net'

export interface TcpRelay {
  port: number
  /** Destroys every relayed connection, like a network failure. */
  cut(): void
  /** Stops passing server → client bytes: the client looks like one that stopped reading at the TCP level. */
  stall(): void
  close(): Promise<void>
}

/** A TCP relay on 127.0.0.1 in front of `target` whose connections can be cut or stalled. */
export async function tcpRelay(target: number): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>()
  const upstream = new Set<net.Socket>()
  let stalled = false
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1')
    upstream.add(outbound)
    for (const socket of [inbound, outbound]) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => sockets.delete(socket))
    }
    inbound.pipe(outbound)
    // server → client by hand, so that stall() can stop it at the TCP level
    outbound.on('data', (chunk: Buffer) => {
      if (!inbound.write(chunk)) outbound.pause()
    })
    inbound.on('drain', () => {
      if (!stalled) outbound.resume()
    })
    if (stalled) outbound.pause()
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  return {
    port: (relay.address() as net.AddressInfo).port,
    cut: () => {
      for (const socket of sockets) socket.destroy()
    },
    stall: () => {
      stalled = true
      for (const socket of upstream) socket.pause()
    },
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => relay.close(() => resolve()))
    },
  }
}
