import type { ProxyStore } from '../store/store.js'
import type { WebhookRegistry } from './registry.js'
import { assertTemplate } from './template.js'
import type { WebhookUrlGuard } from './url-guard.js'

/**
 * The hub subscriber that stands for a client's webhooks: a client id of its
 * own, so its cursors are its own (a client may also read the topic over a
 * WebSocket), ending in a control character, which the edges refuse in client
 * ids, so no client can connect as it.
 */
export function webhookSubscriber(clientId: string): string {
  return `${clientId}\u001fwebhook`
}

export interface WebhookSpec {
  url: string
  /** mump2p-cli's --webhook-schema. */
  template?: string
}

/** Subscribing a webhook: the URL and template checked, then the subscription and its target stored. */
export class WebhookSubscriptions {
  constructor(
    private readonly store: Pick<ProxyStore, 'subscribe' | 'unsubscribe'>,
    private readonly registry: WebhookRegistry,
    private readonly guard: WebhookUrlGuard,
  ) {}

  /** Refuses a bad URL or template before anything is stored; returns the URL as it will be stored. */
  async check(spec: WebhookSpec): Promise<URL> {
    const url = this.guard.parse(spec.url)
    await this.guard.check(url)
    if (spec.template !== undefined) assertTemplate(spec.template)
    return url
  }

  async subscribe(clientId: string, topic: string, threshold: number, spec: WebhookSpec): Promise<void> {
    const url = await this.check(spec)
    await this.store.subscribe(webhookSubscriber(clientId), topic, threshold)
    await this.registry.set({ clientId, topic, url: url.href, ...(spec.template ? { template: spec.template } : {}) })
  }

  /** True when the client had a webhook on the topic. */
  async unsubscribe(clientId: string, topic: string): Promise<boolean> {
    const removed = await this.registry.remove(clientId, topic)
    await this.store.unsubscribe(webhookSubscriber(clientId), topic)
    return removed
  }
}
