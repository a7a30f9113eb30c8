import { WebSocket } from 'ws'

/**
 * K WebSocket clients that time every delivery: each message body starts with
 * `<sequence> <send time in ms>`, so latency is receive time − send time on
 * this process's clock (the publisher runs here too). A frame's `cursor` (a
 * stream id, `<ms>-<seq>` on the Redis clock of this same machine) splits that
 * time into publish → deliverable in the stream and stream → frame.
 */
export class ClientPool {
  private sockets: WebSocket[] = []
  /** Per delivery of the current step: when it was published (ms) and how long it took. */
  private sentAts: number[] = []
  private latencies: number[] = []
  /** Per delivery: publish → its event in the topic's stream (ms); absent without a cursor. */
  private toStream: number[] = []
  delivered = 0

  async open(urls: readonly string[]): Promise<void> {
    const opened = urls.map(
      (url) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false })
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
          ws.on('message', (data) => this.onFrame(data as Buffer))
        }),
    )
    // Not all at once: a thousand handshakes in one burst overflow the accept queue.
    for (let i = 0; i < opened.length; i += 100) this.sockets.push(...(await Promise.all(opened.slice(i, i + 100))))
  }

  /** Starts a new step: returns and clears what the last one recorded. */
  take(): { sentAts: number[]; latencies: number[]; toStream: number[]; delivered: number } {
    const taken = { sentAts: this.sentAts, latencies: this.latencies, toStream: this.toStream, delivered: this.delivered }
    this.sentAts = []
    this.latencies = []
    this.toStream = []
    this.delivered = 0
    return taken
  }

  get closedCount(): number {
    return this.sockets.filter((ws) => ws.readyState !== WebSocket.OPEN).length
  }

  async close(): Promise<void> {
    await Promise.all(
      this.sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve()
            ws.once('close', () => resolve())
            ws.terminate()
          }),
      ),
    )
    this.sockets = []
  }

  private onFrame(data: Buffer): void {
    const now = Date.now()
    const frame = JSON.parse(data.toString()) as { message?: string; cursor?: string }
    if (typeof frame.message !== 'string') return
    const head = Buffer.from(frame.message.slice(0, 44), 'base64').toString('latin1')
    const sentAt = Number(head.split(' ')[1])
    if (!Number.isFinite(sentAt)) return
    this.delivered++
    this.sentAts.push(sentAt)
    this.latencies.push(now - sentAt)
    const streamAt = typeof frame.cursor === 'string' ? Number(frame.cursor.split('-')[0]) : NaN
    if (Number.isFinite(streamAt)) this.toStream.push(streamAt - sentAt)
  }
}

/** A body of `size` bytes that starts with `<sequence> <now ms> `. */
export function timedBody(sequence: number, size: number): string {
  const head = `${sequence} ${Date.now()} `
  return head + 'x'.repeat(Math.max(0, size - head.length))
}
