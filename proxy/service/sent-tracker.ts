import type { Attachment, Delivery } from '../delivery/types.js'

/**
 * Reports to the hub which deliveries reached the transport, in order. The
 * hub may push before `attach` has resolved (replay starts at once): what is
 * written before the attachment is known waits here, then goes in one go.
 */
export class SentTracker {
  private attachment: Attachment | undefined
  private early: Delivery[] = []

  setAttachment(attachment: Attachment): void {
    this.attachment = attachment
    for (const delivery of this.early) attachment.sent(delivery)
    this.early = []
  }

  sent(delivery: Delivery): void {
    if (this.attachment) this.attachment.sent(delivery)
    else this.early.push(delivery)
  }

  /** Stores the cursors reached; safe to call more than once, and before an attachment exists. */
  async detach(): Promise<void> {
    this.early = []
    await this.attachment?.detach()
  }
}
