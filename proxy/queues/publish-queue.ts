import { DelayedError, Queue, Worker, type Job } from 'bullmq'
import type { DurablePublishConfig } from '../../common/config/index.js'
import { isOptimumError, OptimumError } from '../../common/errors.js'
import type { Logger } from '../../common/logger.js'
import type { PublishResult } from '../nodes/node-pool.js'
import type { RedisClient } from '../store/redis-store.js'
import { publishQueuePrefix } from '../store/keys.js'
import type { ProxyStore } from '../store/store.js'
import { TIMED_OUT, within } from './within.js'

/** A publish that must reach the network: what any replica needs to send it again. */
export interface PublishJob {
  topic: string
  /** Base64 of the message bytes. */
  data: string
  messageId: string
}

/** How a replica publishes on the nodes it is linked to (NodePool). */
export interface NodePublisher {
  publish(topic: string, data: Buffer, messageId: string): Promise<PublishResult>
}

export interface PublishQueueOptions {
  /** A connection that fails commands fast (the accepting side: a publish must not hang on a dead Redis). */
  connection: RedisClient
  /** A connection for the worker's blocking reads (`maxRetriesPerRequest: null`, as BullMQ requires). */
  workerConnection: RedisClient
  /** REDIS_PREFIX; the queue's keys live under `<prefix>{q}` (one Cluster slot). */
  prefix: string
  publisher: NodePublisher
  /** How a queued publish learns whether the network has it. */
  arrivals: Pick<ProxyStore, 'nodesHolding'>
  /** Nodes that must hold a message before it counts as in the network (min(2, N)). */
  nodesNeeded: number
  config: DurablePublishConfig
  log: Logger
  /** Delay before the first retry of a publish not yet confirmed (ms), doubled each time; default 1000. */
  retryBackoffMs?: number
  /** Nodes this replica reaches now: with none, a due job is left to other replicas without using an attempt. */
  nodesUp?(): number
}

export interface PublishQueueStats {
  /** Publishes waiting for their confirmation or their next attempt, cluster-wide. */
  depth: number
  active: number
  /** Publishes given up after PROXY_PUBLISH_ATTEMPTS (kept a day). */
  failed: number
  /** Publishes this replica sent again because no node had them. */
  republished: number
}

const QUEUE = 'publish'
/** How long an accept may take before the publish is refused as unavailable. */
const ACCEPT_TIMEOUT_MS = 3_000
const CLOSE_TIMEOUT_MS = 3_000

const unaccepted = (why: string) => new OptimumError('unavailable', `publish not accepted: the queue in Redis cannot take it (${why})`)

/** BullMQ ids may not be integers nor contain ':'; message ids are hex, so a letter prefix is enough. */
const jobId = (messageId: string) => `m-${messageId.replaceAll(':', '_')}`

/**
 * The write-ahead log of publishes (BullMQ): a publish is accepted into Redis
 * before any node sees it, as a job delayed by PROXY_PUBLISH_CONFIRM_MS whose
 * id is the message id. When it fires, on whichever replica's worker, it
 * checks that nodes delivered the message back; if not, it publishes it again
 * (the pool picks another node) and retries with backoff, up to
 * PROXY_PUBLISH_ATTEMPTS. Nodes and the store drop a repeated message id, so
 * subscribers never see it twice.
 */
export class PublishQueue {
  private readonly queue: Queue<PublishJob>
  private worker: Worker<PublishJob> | undefined
  private republished = 0

  constructor(private readonly options: PublishQueueOptions) {
    this.queue = new Queue<PublishJob>(QUEUE, { connection: options.connection, prefix: publishQueuePrefix(options.prefix) })
    this.queue.on('error', (err) => options.log.debug({ err: err.message }, 'publish queue error'))
  }

  /** Start this replica's worker (every replica runs one). */
  start(): void {
    const { log } = this.options
    this.worker = new Worker<PublishJob>(QUEUE, (job, token) => this.process(job, token), {
      connection: this.options.workerConnection,
      prefix: publishQueuePrefix(this.options.prefix),
      concurrency: 16,
      // Publishes are short: a replica that dies mid-attempt leaves its job to the others within seconds, not BullMQ's default minute.
      lockDuration: 10_000,
      stalledInterval: 5_000,
    })
    this.worker.on('error', (err) => log.debug({ err: err.message }, 'publish worker error'))
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        log.error({ topic: job.data.topic, messageId: job.data.messageId, attempts: job.attemptsMade, err: err.message }, 'publish given up: no node took it')
      }
    })
  }

  /**
   * Record the publish in Redis: from here on it reaches the network even if
   * this replica dies. Accepting the same message id twice is a no-op.
   * Rejects with `unavailable` when Redis cannot take it.
   */
  async accept(topic: string, data: Buffer, messageId: string): Promise<void> {
    const { config } = this.options
    const adding = this.queue.add(QUEUE, { topic, data: data.toString('base64'), messageId }, {
      jobId: jobId(messageId),
      delay: config.confirmMs,
      attempts: config.attempts,
      backoff: { type: 'exponential', delay: this.options.retryBackoffMs ?? 1_000 },
      // A job holds the message's bytes: gone once confirmed (a late repeat finds the receipts and ends at once).
      removeOnComplete: true,
      removeOnFail: { age: 86_400, count: 1_000 },
    })
    let outcome: unknown
    try {
      outcome = await within(adding, ACCEPT_TIMEOUT_MS)
    } catch (err) {
      throw unaccepted(err instanceof Error ? err.message : String(err))
    }
    if (outcome === TIMED_OUT) throw unaccepted(`no answer within ${ACCEPT_TIMEOUT_MS} ms`)
  }

  /** No node took the publish in time: retry it now instead of after the confirmation delay. */
  async retrySoon(messageId: string): Promise<void> {
    const job = await this.queue.getJob(jobId(messageId))
    if (job && (await job.isDelayed())) await job.promote().catch(() => {}) // already promoted or running elsewhere: fine
  }

  /** A node refused the message itself (invalid, too large): nothing to retry. */
  async forget(messageId: string): Promise<void> {
    await this.queue.remove(jobId(messageId)).catch(() => 0)
  }

  async stats(): Promise<PublishQueueStats> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'failed')
    return {
      depth: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      failed: counts.failed ?? 0,
      republished: this.republished,
    }
  }

  /** Lets the current attempts finish (bounded: with Redis gone they never would); unfinished jobs stay for other replicas. */
  async close(): Promise<void> {
    if (this.worker && (await within(this.worker.close(), CLOSE_TIMEOUT_MS)) === TIMED_OUT) void this.worker.close(true).catch(() => {})
    if ((await within(this.queue.close(), CLOSE_TIMEOUT_MS)) === TIMED_OUT) this.options.log.warn('publish queue did not close in time')
  }

  private async process(job: Job<PublishJob>, token: string | undefined): Promise<void> {
    const { topic, messageId } = job.data
    const { arrivals, publisher, nodesNeeded, log } = this.options
    const holding = await arrivals.nodesHolding(topic, messageId)
    if (holding >= nodesNeeded) return
    if (this.options.nodesUp?.() === 0) {
      // This replica cannot send it: back to the delayed set for any replica, the attempt not counted.
      await job.moveToDelayed(Date.now() + (this.options.retryBackoffMs ?? 1_000), token)
      throw new DelayedError()
    }
    try {
      const result = await within(publisher.publish(topic, Buffer.from(job.data.data, 'base64'), messageId), this.options.config.deadlineMs)
      if (result === TIMED_OUT) throw new Error(`no node acked within ${this.options.config.deadlineMs} ms`)
      // A node that already carried this id has it from the mesh: the network holds it.
      if (!result.fresh) return
      this.republished++
      log.info({ topic, messageId, node: result.node, attempt: job.attemptsMade + 1, holding }, 'publish sent again: the network did not have it')
    } catch (err) {
      if (isOptimumError(err) && (err.code === 'invalid_argument' || err.code === 'too_large')) {
        log.warn({ topic, messageId, err: err.message }, 'queued publish refused by the node; dropped')
        return
      }
      throw err
    }
    // Confirmed on the next attempt (the message must come back from the nodes first).
    throw new Error(`sent again; ${holding} of ${nodesNeeded} nodes held it`)
  }
}
