/**
 * The local stack's life: check everything that can be checked before a
 * process starts (settings, ports, Redis, the bootstrap identity), start
 * Redis, the nodes and the proxies, wait until they answer and the nodes are
 * connected, print the endpoints and `ready`, then stop everything when asked
 * or as soon as any service ends on its own.
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { ConfigError, parseNodeConfig, parseProxyConfig, type Env } from '../../common/config/index.js'
import { loadOrCreateIdentity, keyFilePath, peerIdOf } from '../../common/identity/key-file.js'
import { allocatorEnv } from './allocator.js'
import type { Output } from './output.js'
import {
  bootstrapAddress,
  layoutProblem,
  nodeEnv,
  planStack,
  portsInUse,
  proxyEnv,
  PRIVATE_REDIS_PORT,
  type NodePlan,
  type StackOptions,
  type StackPlan,
} from './plan.js'
import { firstTakenPort } from './ports.js'
import { nodeStatus, NotReady, proxyHealthy, waitUntil, wantedPeers, type NodeStatus } from './readiness.js'
import { answers, chooseRedis, NO_REDIS, privateRedisSpec, staleRedisPid, waitForRedis, type RedisChoice } from './redis.js'
import { ServiceProcess, type ServiceSpec } from './service-process.js'
import { endpointTable } from './table.js'

const STOP_GRACE_MS = 10_000
const TSX_LOADER = import.meta.resolve('tsx')
const PARENT_GUARD = new URL('./parent-guard.ts', import.meta.url).href
const ENTRY = {
  node: fileURLToPath(new URL('../../node/main.ts', import.meta.url)),
  proxy: fileURLToPath(new URL('../../proxy/main.ts', import.meta.url)),
}

export interface LaunchSettings {
  options: StackOptions
  /** Bound on the wait for `ready`. */
  timeoutMs: number
  /** Where .env was read, and where `identity/` and the state folder live. */
  cwd: string
  /** The process environment over .env. */
  env: Env
}

/** Something that stops the launch before any process has started: one line for the user. */
export class LaunchRefused extends Error {}

const STATE_DIR = '.stack'

export class Stack {
  private readonly services: ServiceProcess[] = []
  private stopRequest: string | undefined
  private resolveStop: (why: string) => void = () => {}
  private readonly stopRequested = new Promise<string>((resolve) => (this.resolveStop = resolve))

  constructor(
    private readonly settings: LaunchSettings,
    private readonly output: Output,
  ) {}

  /** Ask the stack to stop (a signal); a second request kills what is left at once. */
  requestStop(why: string): void {
    if (this.stopRequest !== undefined) {
      this.output.say(`${why} again: killing what is left`)
      this.killNow()
      process.exit(130)
    }
    this.stopRequest = why
    this.resolveStop(why)
  }

  /** For process 'exit': nothing the launcher started may outlive it. */
  killNow(): void {
    for (const service of this.services) service.killNow()
  }

  /** Runs until stopped; the exit code. Throws LaunchRefused before starting anything. */
  async run(): Promise<number> {
    const started = Date.now()
    const { options, cwd, env } = this.settings
    const stateDir = path.join(cwd, STATE_DIR)
    const bootstrapIdentity = path.resolve(cwd, env.IDENTITY_DIR?.trim() || 'identity')
    const plan = planStack(options, { bootstrapIdentity, state: stateDir })
    this.output.register(['redis', ...plan.nodes.map((n) => n.name), ...plan.proxies.map((p) => p.name)])
    const meshMin = this.checkSettings(plan)
    const redis = options.proxies > 0 ? this.redisFor(stateDir) : undefined
    await this.checkPorts(plan, redis)
    if (redis?.kind === 'external' && !(await answers(redis.host, redis.port, false))) {
      throw new LaunchRefused(`REDIS_URL=${redis.url} does not answer: start that Redis, or unset REDIS_URL to let the launcher run a private one`)
    }
    const bootstrapId = await this.bootstrapIdentity(bootstrapIdentity)
    if (this.stopRequest) return 0

    try {
      const statuses = await this.startAll(plan, redis, bootstrapId, meshMin, Date.now() + this.settings.timeoutMs)
      this.printReady(plan, statuses, redis, started)
    } catch (err) {
      if (!(err instanceof NotReady)) throw err
      this.output.say(this.stopRequest ? `${this.stopRequest}: stopping the stack` : `not ready: ${err.message}; stopping the stack`)
      await this.stopAll()
      this.output.say('stopped')
      return this.stopRequest ? 0 : 1
    }

    const ended = await Promise.race([
      this.stopRequested.then((why) => ({ why, crashed: false })),
      ...this.services.map((s) => s.exited.then(() => ({ why: `${s.name} exited (${s.why()})`, crashed: true }))),
    ])
    this.output.say(`${ended.why}: stopping the stack`)
    await this.stopAll()
    this.output.say('stopped')
    return ended.crashed ? 1 : 0
  }

  private printReady(plan: StackPlan, statuses: NodeStatus[], redis: RedisChoice | undefined, started: number): void {
    const { options, cwd } = this.settings
    const pids = new Map(this.services.map((s) => [s.name, s.pid]))
    const redisRow = redis && {
      url: redis.url,
      note: redis.kind === 'private' ? `private, data in ${path.relative(cwd, redis.dir) || '.'}` : 'REDIS_URL',
    }
    this.output.raw('')
    this.output.raw(endpointTable({ plan, nodes: statuses, pids, redis: redisRow }))
    this.output.raw('')
    const seconds = ((Date.now() - started) / 1000).toFixed(1)
    const proxies = `${options.proxies} prox${options.proxies === 1 ? 'y' : 'ies'}`
    this.output.raw(`ready: ${options.nodes} ${options.mode} node(s) and ${proxies} in ${seconds} s; Ctrl-C stops everything`)
  }

  /** The nodes' and proxies' settings, parsed as they will parse them, so a bad value is named before anything starts. */
  private checkSettings(plan: StackPlan): number {
    const problem = layoutProblem(portsInUse(plan))
    if (problem) throw new LaunchRefused(problem)
    if (plan.proxies.length > 0 && !existsSync(ENTRY.proxy)) {
      throw new LaunchRefused(`${path.relative(this.settings.cwd, ENTRY.proxy)} is not in this checkout: start with --proxies 0`)
    }
    try {
      const nodeConfig = parseNodeConfig(nodeEnv(this.settings.env, plan, plan.nodes[0]!, ''))
      const first = plan.proxies[0]
      if (first) parseProxyConfig(proxyEnv(this.settings.env, plan, first, this.settings.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379'))
      return nodeConfig[plan.options.mode].mesh.min
    } catch (err) {
      if (err instanceof ConfigError) throw new LaunchRefused(err.message)
      throw err
    }
  }

  private redisFor(stateDir: string): RedisChoice {
    const { options, env } = this.settings
    try {
      const redis = chooseRedis(env, options.host, PRIVATE_REDIS_PORT + options.portOffset, path.join(stateDir, 'redis'))
      if (!redis) throw new LaunchRefused(NO_REDIS)
      return redis
    } catch (err) {
      if (err instanceof TypeError) throw new LaunchRefused(`REDIS_URL=${env.REDIS_URL} is not a URL such as redis://127.0.0.1:6379`)
      throw err
    }
  }

  private async checkPorts(plan: StackPlan, redis: RedisChoice | undefined): Promise<void> {
    const uses = portsInUse(plan)
    if (redis?.kind === 'private') {
      const stale = staleRedisPid(redis.dir)
      if (stale !== undefined) {
        this.output.say(`stopping the private redis-server (pid ${stale}) an earlier launcher left running`)
        await stopPid(stale)
      }
      uses.push({ port: redis.port, what: 'the private Redis' })
    }
    const taken = await firstTakenPort(uses, plan.options.host)
    if (taken) {
      throw new LaunchRefused(
        `port ${taken.port} (${taken.what}) is already in use on ${plan.options.host}: stop what holds it (another npm start or docker compose?) or start with --port-offset 100`,
      )
    }
  }

  private async bootstrapIdentity(dir: string): Promise<string> {
    try {
      const { key, created } = await loadOrCreateIdentity(dir)
      const id = peerIdOf(key)
      this.output.say(`bootstrap identity ${path.relative(this.settings.cwd, keyFilePath(dir))} ${created ? 'created' : 'loaded'}: ${id}`)
      return id
    } catch (err) {
      throw new LaunchRefused(`the bootstrap identity cannot be used: ${(err as Error).message}`)
    }
  }

  private async startAll(
    plan: StackPlan,
    redis: RedisChoice | undefined,
    bootstrapId: string,
    meshMin: number,
    deadline: number,
  ): Promise<NodeStatus[]> {
    const { options, env } = this.settings
    const watch = { exited: () => this.stopRequest ?? this.exitedService() }

    if (redis?.kind === 'private') {
      await mkdir(redis.dir, { recursive: true })
      const service = this.start(privateRedisSpec(redis, env))
      const up = await waitForRedis(redis.host, redis.port, Math.max(0, deadline - Date.now()), service.exited)
      if (!up) throw new NotReady(this.exitedService() ?? `the private Redis did not answer on port ${redis.port}`)
    }

    // Node 1 first: the others bootstrap from it, and would only log retries while it starts.
    const bootstrap = bootstrapAddress(options.host, plan.nodes[0]!, bootstrapId)
    const statuses: (NodeStatus | undefined)[] = plan.nodes.map(() => undefined)
    const apisAnswer = (nodes: NodePlan[]) => waitUntil(deadline, watch, async () => {
      await Promise.all(nodes.map(async (node) => (statuses[node.index - 1] ??= await nodeStatus(options.host, node))))
      return nodes.every((node) => statuses[node.index - 1]) ? true : undefined
    }, () => `${nodes.filter((n) => !statuses[n.index - 1]).map((n) => `${n.name} API (port ${n.ports.api})`).join(', ')} did not answer`)
    const [first, ...rest] = plan.nodes
    for (const group of [[first!], rest]) {
      for (const node of group) this.start(this.tsService(node.name, 'node', nodeEnv(env, plan, node, bootstrap)))
      await apisAnswer(group)
    }

    const redisUrl = redis?.url ?? ''
    for (const proxy of plan.proxies) this.start(this.tsService(proxy.name, 'proxy', proxyEnv(env, plan, proxy, redisUrl)))

    const want = wantedPeers(plan.nodes.length, meshMin)
    let latest: NodeStatus[] = []
    const formed = await waitUntil(deadline, watch, async () => {
      latest = (await Promise.all(plan.nodes.map((node) => nodeStatus(options.host, node)))).map((s, i) => s ?? { ...statuses[i]!, peers: 0 })
      return latest.every((s) => s.peers >= want) ? latest : undefined
    }, () => `the mesh has not formed: ${plan.nodes.map((n, i) => `${n.name} has ${latest[i]?.peers ?? 0} peer(s)`).join(', ')}, wanted ${want} each`)

    const healthy: boolean[] = plan.proxies.map(() => false)
    await waitUntil(deadline, watch, async () => {
      await Promise.all(plan.proxies.map(async (proxy, i) => (healthy[i] ||= await proxyHealthy(options.host, proxy))))
      return healthy.every(Boolean) ? true : undefined
    }, () => `${plan.proxies.filter((_, i) => !healthy[i]).map((p) => `${p.name} (GET /api/v1/health on port ${p.ports.http})`).join(', ')} not healthy`)
    return formed
  }

  private tsService(name: string, entry: keyof typeof ENTRY, env: Env): ServiceSpec {
    return {
      name,
      command: process.execPath,
      args: ['--import', TSX_LOADER, '--import', PARENT_GUARD, ENTRY[entry]],
      env: { ...env, ...allocatorEnv(env) },
      cwd: this.settings.cwd,
      ipc: true,
    }
  }

  private start(spec: ServiceSpec): ServiceProcess {
    const service = new ServiceProcess(spec, this.output)
    this.services.push(service)
    return service
  }

  private exitedService(): string | undefined {
    const gone = this.services.find((s) => !s.running)
    return gone && `${gone.name} exited (${gone.why()})`
  }

  /** Proxies first (their clients see a clean close), then the nodes, Redis last. */
  private async stopAll(): Promise<void> {
    const rank = (s: ServiceProcess) => (s.name.startsWith('proxy') ? 0 : s.name === 'redis' ? 2 : 1)
    for (const level of [0, 1, 2]) {
      await Promise.all(this.services.filter((s) => rank(s) === level).map((s) => s.stop(STOP_GRACE_MS)))
    }
  }
}

/** SIGTERM to a process the launcher did not start this time (a stale Redis), until it is gone. */
async function stopPid(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  for (let i = 0; i < 100 && alive(); i++) await delay(100)
  if (alive()) process.kill(pid, 'SIGKILL')
}
