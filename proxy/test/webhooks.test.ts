import { randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { WebhookConfig } from '../../common/config/index.js'
import { isOptimumError } from '../../common/errors.js'
import { silentLogger } from '../../common/logger.js'
import { DeliveryHub } from '../delivery/hub.js'
import type { Delivery } from '../delivery/types.js'
import { SentTracker } from '../service/sent-tracker.js'
import { createRedisStore } from '../store/redis-store.js'
import type { ProxyStore } from '../store/store.js'
import { WebhookRegistry, type WebhookTarget } from '../webhooks/registry.js'
import { WebhookRunner } from '../webhooks/runner.js'
import { webhookSubscriber, WebhookSubscriptions } from '../webhooks/subscriptions.js'
import { assertTemplate, renderBody } from '../webhooks/template.js'
import { WebhookUrlGuard } from '../webhooks/url-guard.js'
import { WebhookSink } from '../webhooks/webhook-sink.js'
import { waitFor } from './support/cluster.js'
import { LOCAL_REDIS as TEST_REDIS_URL, removePrefix } from './support/store.js'

const FIELDS = { Message: 'say "hi"\n', Topic: 'news', ClientID: 'c1', MessageID: 'm1', Timestamp: 1733090000000 }

describe('body templates', () => {
  it('fills mump2p-cli placeholders, JSON-escaped in a JSON template', () => {
    const { body, contentType } = renderBody('{"content":"{{.Message}}","t":"{{ .Topic }}","at":{{.Timestamp}}}', FIELDS, Buffer.from(FIELDS.Message))
    expect(contentType).toBe('application/json')
    expect(JSON.parse(String(body))).toEqual({ content: 'say "hi"\n', t: 'news', at: 1733090000000 })
  })

  it('fills a text template as is', () => {
    expect(String(renderBody('{{.ClientID}}/{{.MessageID}}: {{.Message}}', FIELDS, Buffer.from('x')).body)).toBe('c1/m1: say "hi"\n')
  })

  it('sends a JSON object like the WebSocket frames without a template', () => {
    const { body } = renderBody(undefined, FIELDS, Buffer.from([0, 255]))
    expect(JSON.parse(String(body))).toEqual({ client_id: 'c1', topic: 'news', message_id: 'm1', message: 'AP8=', timestamp: 1733090000000 })
  })

  it('refuses unknown placeholders and huge templates', () => {
    expect(() => assertTemplate('{{.Secret}}')).toThrow(/\{\{\.Secret\}\}/)
    expect(() => assertTemplate('x'.repeat(17 * 1024))).toThrow(/longer than/)
    expect(() => assertTemplate('{"m":"{{.Message}}"}')).not.toThrow()
  })
})

describe('webhook URL guard', () => {
  const strict = new WebhookUrlGuard({ allowPrivate: false, ownPorts: () => [8080, 50051] })
  const lax = new WebhookUrlGuard({ allowPrivate: true, ownPorts: () => [8080, 50051] })
  const refusal = async (guard: WebhookUrlGuard, url: string) => {
    try {
      await guard.check(guard.parse(url))
      return undefined
    } catch (err) {
      return isOptimumError(err) ? err.message : String(err)
    }
  }

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://[::ffff:169.254.169.254]/',
    'http://127.0.0.1:9999/hook',
    'http://localhost:9999/hook',
    'http://10.1.2.3/hook',
    'http://192.168.1.1/hook',
    'http://[::1]:9999/hook',
    'http://[fe80::1]/hook',
    'http://0.0.0.0/hook',
  ])('refuses %s unless WEBHOOK_ALLOW_PRIVATE', async (url) => {
    expect(await refusal(strict, url)).toMatch(/private, loopback, link-local or metadata/)
    expect(await refusal(lax, url)).toBeUndefined()
  })

  it("refuses the proxy's own ports on this host even when private targets are allowed", async () => {
    expect(await refusal(lax, 'http://127.0.0.1:8080/api/v1/publish')).toMatch(/is this proxy/)
    expect(await refusal(lax, 'http://localhost:50051/')).toMatch(/is this proxy/)
    expect(await refusal(lax, 'http://127.0.0.1:8081/')).toBeUndefined()
  })

  it('refuses other schemes, credentials and non-URLs', async () => {
    expect(await refusal(lax, 'ftp://example.com/x')).toMatch(/http/)
    expect(await refusal(lax, 'http://user:pw@example.com/x')).toMatch(/credentials/)
    expect(await refusal(lax, 'not a url')).toMatch(/not a URL/)
  })

  it('allows a public address', async () => {
    expect(await refusal(strict, 'https://93.184.215.14/hook')).toBeUndefined()
  })
})

/** A webhook receiver on 127.0.0.1 that answers each POST with the next planned status (200 when the plan runs out). */
class Receiver {
  readonly bodies: string[] = []
  readonly attempts: string[] = []
  plan: Array<number | 'hang'> = []
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      this.attempts.push(body)
      const status = this.plan.shift() ?? 200
      if (status === 'hang') return
      if (status < 300) this.bodies.push(body)
      res.statusCode = status
      res.end()
    })
  })

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`
  }

  start(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve))
  }

  stop(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

const prefix = `test:partners:webhooks:${randomBytes(4).toString('hex')}:`
const config: WebhookConfig = { attempts: 3, timeoutMs: 500, backoffMs: 20, allowPrivate: true }
const guard = new WebhookUrlGuard({ allowPrivate: true, ownPorts: () => [] })
const receiver = new Receiver()
let redis: Redis
let registry: WebhookRegistry

beforeAll(async () => {
  await receiver.start()
  redis = new Redis(TEST_REDIS_URL)
  registry = new WebhookRegistry(redis, prefix)
})

afterEach(() => {
  receiver.plan = []
  receiver.bodies.length = 0
  receiver.attempts.length = 0
})

afterAll(async () => {
  await receiver.stop()
  redis.disconnect()
  await removePrefix(TEST_REDIS_URL, prefix)
})

describe('webhook sink', () => {
  const delivery = (n: number): Delivery => ({ topic: 'news', messageId: `m${n}`, data: Buffer.from(`message ${n}`), source: 'node', cursor: `${n}-0`, nodes: 1 })

  function sink(target: WebhookTarget) {
    const sent: string[] = []
    const tracker = new SentTracker()
    tracker.setAttachment({ clientId: target.clientId, sent: (d) => sent.push(d.messageId), detach: async () => {} })
    const s = new WebhookSink({ clientId: target.clientId, target: () => target, config, guard, registry, tracker, log: silentLogger, onClose: () => {} })
    return { sink: s, sent }
  }

  it('retries until the receiver succeeds, keeping the order', async () => {
    const target = { clientId: 'retry', topic: 'news', url: receiver.url, template: '{{.MessageID}}:{{.Message}}' }
    const { sink: s, sent } = sink(target)
    receiver.plan = [500, 503, 200, 429, 200]
    for (const n of [1, 2, 3]) expect(s.push(delivery(n))).toBe(true)
    await waitFor('three deliveries', () => sent.length === 3, 10_000)
    expect(receiver.bodies).toEqual(['m1:message 1', 'm2:message 2', 'm3:message 3'])
    expect(receiver.attempts).toHaveLength(6)
    expect(sent).toEqual(['m1', 'm2', 'm3'])
  })

  it('gives up after WEBHOOK_ATTEMPTS, records the failure, and goes on with the next', async () => {
    const target = { clientId: 'gives-up', topic: 'news', url: receiver.url }
    const { sink: s, sent } = sink(target)
    receiver.plan = [500, 500, 500, 200]
    s.push(delivery(1))
    s.push(delivery(2))
    await waitFor('both handled', () => sent.length === 2, 10_000)
    expect(receiver.attempts).toHaveLength(4)
    expect(receiver.bodies.map((b) => (JSON.parse(b) as { message_id: string }).message_id)).toEqual(['m2'])
    const stats = await registry.stats()
    expect(stats.recentFailures[0]).toMatchObject({ clientId: 'gives-up', topic: 'news', messageId: 'm1', attempts: 3, error: 'answered HTTP 500' })
  })

  it('a receiver that does not answer times out and counts as a failed attempt', async () => {
    const target = { clientId: 'slow', topic: 'news', url: receiver.url }
    const { sink: s, sent } = sink(target)
    receiver.plan = ['hang', 200]
    s.push(delivery(1))
    await waitFor('delivered after the timeout', () => sent.length === 1, 10_000)
    expect(receiver.attempts).toHaveLength(2)
    expect(receiver.bodies).toHaveLength(1)
  })

  it('a 4xx answer is not retried', async () => {
    const target = { clientId: 'bad-request', topic: 'news', url: receiver.url }
    const { sink: s, sent } = sink(target)
    receiver.plan = [404]
    s.push(delivery(1))
    await waitFor('given up', () => sent.length === 1, 10_000)
    expect(receiver.attempts).toHaveLength(1)
    expect((await registry.stats()).recentFailures[0]).toMatchObject({ clientId: 'bad-request', attempts: 1, error: 'answered HTTP 404' })
  })

  it('refuses to POST where the guard forbids, without retrying', async () => {
    const strict = new WebhookUrlGuard({ allowPrivate: false, ownPorts: () => [] })
    const tracker = new SentTracker()
    const sent: string[] = []
    tracker.setAttachment({ clientId: 'x', sent: (d) => sent.push(d.messageId), detach: async () => {} })
    // A literal address is refused before connecting; a name when it resolves (at every connection: no DNS rebinding).
    const urls = [receiver.url, receiver.url.replace('127.0.0.1', 'localhost')]
    const s = new WebhookSink({ clientId: 'ssrf', target: () => ({ clientId: 'ssrf', topic: 'news', url: urls[sent.length]! }), config, guard: strict, registry, tracker, log: silentLogger, onClose: () => {} })
    s.push(delivery(1))
    s.push(delivery(2))
    await waitFor('both refused', () => sent.length === 2, 10_000)
    expect(receiver.attempts).toHaveLength(0)
    const failures = (await registry.stats()).recentFailures.filter((f) => f.clientId === 'ssrf')
    expect(failures.map((f) => [f.attempts, f.error])).toEqual([
      [1, expect.stringMatching(/private, loopback/)],
      [1, expect.stringMatching(/private, loopback/)],
    ])
  })
})

describe('webhooks through the delivery hub, two replicas', () => {
  const stores: ProxyStore[] = []
  const hubs: DeliveryHub[] = []
  const runners: WebhookRunner[] = []

  function replica(name: string) {
    const store = createRedisStore({ url: TEST_REDIS_URL, mode: 'standalone', prefix, messageTtlSeconds: 600, streamMaxLength: 1000, streamMaxAgeSeconds: 600 })
    const hub = new DeliveryHub({ store, nodeCount: 1, cursorFlushMs: 20 })
    const runner = new WebhookRunner({ hub, registry, guard, config, log: silentLogger, owner: name, scanMs: 50, leaseMs: 500 })
    stores.push(store)
    hubs.push(hub)
    runners.push(runner)
    return { store, hub, runner }
  }

  afterAll(async () => {
    for (const r of runners) await r.stop()
    for (const h of hubs) await h.close()
    for (const s of stores) await s.close()
  })

  it('one replica delivers each client in order; another takes over when it stops', async () => {
    const a = replica('a')
    const b = replica('b')
    const subscriptions = new WebhookSubscriptions(a.store, registry, guard)
    await subscriptions.subscribe('hooked', 'alerts', 0, { url: receiver.url, template: '{{.Topic}} {{.Message}}' })
    expect(await a.store.clientTopics(webhookSubscriber('hooked'))).toEqual(new Map([['alerts', 0]]))
    a.runner.start()
    await waitFor('a holds the lease', () => a.runner.clients.includes('hooked'), 10_000)
    b.runner.start()

    const arrive = (n: number) => a.store.recordArrival({ node: 'n1', messageId: `msg-${n}`, topic: 'alerts', data: Buffer.from(`#${n}`), source: 'peer' })
    for (const n of [1, 2, 3]) await arrive(n)
    await waitFor('three POSTs', () => receiver.bodies.length === 3, 10_000)
    expect(b.runner.clients).toEqual([])

    await a.runner.stop() // the replica goes away; its lease is released
    await waitFor('b takes over', () => b.runner.clients.includes('hooked'), 10_000)
    for (const n of [4, 5]) await arrive(n)
    await waitFor('five POSTs', () => receiver.bodies.length === 5, 10_000)
    expect(receiver.bodies).toEqual(['alerts #1', 'alerts #2', 'alerts #3', 'alerts #4', 'alerts #5'])

    expect(await subscriptions.unsubscribe('hooked', 'alerts')).toBe(true)
    await waitFor('b lets go', () => b.runner.clients.length === 0, 10_000)
    expect((await registry.stats()).subscriptions).toBe(0)
  })
})
