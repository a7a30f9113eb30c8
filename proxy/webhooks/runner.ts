import type { WebhookConfig } from '../../common/config/index.js'
import type { Logger } from '../../common/logger.js'
import type { Attachment, AttachOptions, DeliverySink } from '../delivery/types.js'
import { SentTracker } from '../service/sent-tracker.js'
import type { WebhookRegistry, WebhookTarget } from './registry.js'
import { webhookSubscriber } from './subscriptions.js'
import type { WebhookUrlGuard } from './url-guard.js'
import { WebhookSink } from './webhook-sink.js'

export interface WebhookRunnerOptions {
  hub: { attach(clientId: string, sink: DeliverySink, options?: AttachOptions): Promise<Attachment> }
  registry: WebhookRegistry
  guard: WebhookUrlGuard
  config: WebhookConfig
  log: Logger
  /** This replica's name on leases (unique per process). */
  owner: string
  /** How often the registry is read and leases renewed (ms); default 2000. */
  scanMs?: number
  /** How long a lease lasts without renewal (ms): a dead replica's clients move after this; default 10000. */
  leaseMs?: number
}

interface Running {
  sink: WebhookSink
  tracker: SentTracker
  targets: Map<string, WebhookTarget>
}

/**
 * Delivers the webhooks of the clients whose lease this replica holds: one
 * replica per client at a time (so deliveries keep their order), any replica
 * after the holder dies (the lease expires; the next one resumes from the
 * stored cursors, so a delivery whose cursor was not stored yet may be POSTed
 * twice: receivers can drop repeats by message id). It owns its scan loop.
 */
export class WebhookRunner {
  private readonly running = new Map<string, Running>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private failing = false

  constructor(private readonly options: WebhookRunnerOptions) {}

  start(): void {
    const loop = async () => {
      await this.scan()
      if (!this.stopped) this.timer = setTimeout(loop, this.options.scanMs ?? 2_000)
    }
    void loop()
  }

  /** Clients this replica delivers for now. */
  get clients(): string[] {
    return [...this.running.keys()]
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await Promise.all([...this.running.keys()].map((clientId) => this.release(clientId)))
  }

  /** One pass: take or keep the leases of clients with webhooks, follow their targets, let go of the rest. */
  async scan(): Promise<void> {
    const { registry, log, owner } = this.options
    try {
      const byClient = new Map<string, Map<string, WebhookTarget>>()
      for (const target of await registry.all()) {
        const targets = byClient.get(target.clientId) ?? new Map<string, WebhookTarget>()
        targets.set(target.topic, target)
        byClient.set(target.clientId, targets)
      }
      for (const clientId of this.running.keys()) if (!byClient.has(clientId)) await this.release(clientId)
      for (const [clientId, targets] of byClient) {
        if (this.stopped) return
        const held = await registry.holdLease(clientId, owner, this.options.leaseMs ?? 10_000)
        const running = this.running.get(clientId)
        if (!held) {
          if (running) await this.release(clientId)
        } else if (running) {
          running.targets = targets
        } else {
          await this.attach(clientId, targets)
        }
      }
      if (this.failing) log.info('webhook scan recovered')
      this.failing = false
    } catch (err) {
      if (!this.failing) log.warn({ err: err instanceof Error ? err.message : String(err) }, 'webhook scan failed; retrying')
      this.failing = true
    }
  }

  private async attach(clientId: string, targets: Map<string, WebhookTarget>): Promise<void> {
    const { hub, config, guard, registry, log } = this.options
    const tracker = new SentTracker()
    const running: Running = {
      tracker,
      targets,
      sink: new WebhookSink({
        clientId,
        target: (topic) => running.targets.get(topic),
        config,
        guard,
        registry,
        tracker,
        log,
        // Slow receiver or hub shutdown: the next scan attaches again from the stored cursors.
        onClose: () => {
          if (this.running.get(clientId) === running) this.running.delete(clientId)
        },
      }),
    }
    this.running.set(clientId, running)
    try {
      tracker.setAttachment(await hub.attach(webhookSubscriber(clientId), running.sink))
      log.info({ client: clientId, topics: targets.size }, 'delivering webhooks')
    } catch (err) {
      this.running.delete(clientId)
      throw err
    }
  }

  private async release(clientId: string): Promise<void> {
    const running = this.running.get(clientId)
    if (!running) return
    this.running.delete(clientId)
    running.sink.stop()
    await running.tracker.detach()
    await this.options.registry.releaseLease(clientId, this.options.owner).catch(() => {})
  }
}
