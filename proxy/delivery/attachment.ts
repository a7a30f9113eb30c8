/**
 * One connection of one client: its ClientTopics, its sink, and its way out.
 * The first full sink closes it (`slow_consumer`); what was queued but never
 * sent is not committed, so the client gets it again after reconnecting.
 */
import type { Logger } from '../../common/logger.js'
import type { ClientTopic, ClientTopicOwner } from './client-topic.js'
import type { Attachment, CloseCode, Delivery, DeliverySink, GapNotice } from './types.js'

export interface AttachmentHost {
  /** The cursor of this ClientTopic may have moved. */
  cursorChanged(topic: ClientTopic): void
  /** Unregister, store cursors, stop idle tails. */
  release(attachment: HubAttachment): Promise<void>
}

export class HubAttachment implements Attachment, ClientTopicOwner {
  readonly topics = new Map<string, ClientTopic>()
  private readonly abort = new AbortController()
  private released: Promise<void> | undefined

  constructor(
    readonly clientId: string,
    private readonly sink: DeliverySink,
    private readonly host: AttachmentHost,
    private readonly logger: Logger,
    /** Deliveries pushed but not confirmed with `sent` before the connection counts as stuck. */
    private readonly maxUnconfirmed: number,
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal
  }

  push(delivery: Delivery, unconfirmed: number): boolean {
    if (this.abort.signal.aborted) return false
    if (unconfirmed > this.maxUnconfirmed) {
      this.close('slow_consumer', `${unconfirmed} messages were sent without reaching the client; reconnect to resume from the last one received`)
      return false
    }
    return this.offer(() => this.sink.push(delivery), `${delivery.topic} ${delivery.cursor}`)
  }

  gap(notice: GapNotice): boolean {
    if (this.abort.signal.aborted) return false
    this.logger.info({ client: this.clientId, ...notice }, 'gap reported to client')
    return this.offer(() => this.sink.gap(notice), `${notice.topic} ${notice.until}`)
  }

  broken(err: unknown): void {
    this.logger.error({ client: this.clientId, err }, 'client connection failed; detaching')
    void this.detach()
  }

  private offer(give: () => boolean, at: string): boolean {
    let taken: boolean
    try {
      taken = give()
    } catch (err) {
      // A sink that throws has a broken connection: drop it, keep the hub.
      this.broken(err)
      return false
    }
    if (!taken) this.close('slow_consumer', `the client did not keep up: its buffer is full at ${at}; reconnect to resume from the last message received`)
    return taken
  }

  changed(topic: ClientTopic): void {
    // Also after detaching: a send callback may still confirm a frame.
    this.host.cursorChanged(topic)
  }

  replayFailed(topic: string, err: unknown, failures: number): void {
    if (failures === 1) this.logger.warn({ client: this.clientId, topic, err: (err as Error).message }, 'replay failed; retrying')
  }

  sent(delivery: Delivery): void {
    this.topics.get(delivery.topic)?.sent(delivery.cursor)
  }

  detach(): Promise<void> {
    this.abort.abort()
    this.released ??= this.host.release(this)
    return this.released
  }

  /** Ends the connection from the hub's side. */
  close(code: CloseCode, reason: string): void {
    if (this.abort.signal.aborted) return
    this.logger.info({ client: this.clientId, code }, 'closing client connection')
    void this.detach()
    this.sink.close(code, reason)
  }
}
