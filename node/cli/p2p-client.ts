import '../../common/polyfill.js'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { durationFlag, formatGoDuration, intFlag, parseFlagsOrExit, stringFlag } from '../../common/cli/go-flags.js'
import { goQuote } from '../../common/cli/go-quote.js'
import {
  Command,
  ResponseType,
  type CommandStreamClient,
  type DeliveredMessageJson,
  type SidecarResponse,
} from '../../common/proto.js'
import { connectSidecar } from '../../common/sidecar-client.js'

/**
 * The p2p client: talks straight to a node's sidecar (CommandStream), with
 * the flags and output of the published Go client.
 *
 *   p2p-client -mode=subscribe -topic=t [-addr=host:port]
 *     Subscribed to topic "t", waiting for messages…
 *     [1] Received message: "hello"
 *     ^C  → Total messages received: 1   (exit 0)
 *
 *   p2p-client -mode=publish -topic=t -msg=hello [-count=N] [-sleep=100ms]
 *     Published "hello" to "t"
 *
 * -jwt=<token> puts the token in every request's `jwt_token`, for a node with
 * SIDECAR_AUTH on; a subscribe the node refuses for its token ends the client
 * (exit 1), a refused publish counts as a refused message.
 *
 * With -count > 1 every message is distinct: `random-<i>-<8 hex>` when -msg
 * is empty or "random", else `<msg> <i>`. A publish sends every message on
 * one stream, half-closes it and waits (up to -flush-timeout) for the node to
 * end the stream, which it does once every message has been handed to the
 * network; then it exits (1 if the node refused any message).
 */

const PROGRAM = 'p2p-client'

const FLAGS = {
  mode: stringFlag('subscribe', 'mode: subscribe | publish'),
  topic: stringFlag('', 'topic name'),
  msg: stringFlag('', 'message data (for publish)'),
  addr: stringFlag('localhost:33212', 'sidecar gRPC address'),
  count: intFlag(1, 'number of messages to publish (for publish mode)'),
  sleep: durationFlag(0, 'optional delay between publishes (e.g., 1s, 500ms)'),
  'keepalive-interval': durationFlag(2 * 60_000, 'gRPC keepalive ping interval (at least 10s)'),
  'keepalive-timeout': durationFlag(20_000, 'gRPC keepalive ping timeout'),
  'keepalive-time': durationFlag(0, 'same as -keepalive-interval (the name older scripts use)'),
  'connect-timeout': durationFlag(10_000, 'how long to wait for the connection to the sidecar'),
  'flush-timeout': durationFlag(30_000, 'publish: how long to wait for the node to take every message'),
  jwt: stringFlag('', "JWT sent in every request's jwt_token (for a node with SIDECAR_AUTH on)"),
}

/** Error codes of a refusal for the token, after which a subscriber has nothing to wait for. */
const AUTH_CODES = new Set(['unauthenticated', 'permission_denied'])

function fail(message: string): never {
  flushOut()
  process.stderr.write(`${PROGRAM}: ${message}\n`)
  process.exit(1)
}

/** Ends the process with `code` once stdout has been written (a fallback timer covers a handle that lingers). */
function exitWith(code: number, client?: grpc.Client): void {
  flushOut()
  process.exitCode = code
  client?.close()
  setTimeout(() => process.exit(code), 1_000).unref()
}

// stdout lines are gathered and written once per event-loop turn: one write(2) per line caps a
// subscriber at a few thousand messages a second.
let pendingOut: string[] = []
let flushScheduled = false

function out(line: string): void {
  pendingOut.push(line)
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flushOut)
  }
}

function flushOut(): void {
  flushScheduled = false
  if (pendingOut.length === 0) return
  const text = `${pendingOut.join('\n')}\n`
  pendingOut = []
  process.stdout.write(text)
}

function grpcDetails(err: Partial<grpc.ServiceError>): string {
  // grpc-js appends "(2024-…Z)" timestamps and empty "Resolution note:"s to connection errors; keep the cause.
  let text = (err.details || err.message || 'unknown error').replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
  const cause = /Last error: (?:Error: )?(.*?)\.?(?:\s*Resolution note:.*)?$/s.exec(text)
  if (cause?.[1]) text = cause[1]
  return text.trim()
}

/** Resolves once the sidecar answers a Health call (any status but UNAVAILABLE means it is there). */
function connect(client: CommandStreamClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let timedOut = false
    const call = client.Health({}, (err) => {
      clearTimeout(timer)
      if (timedOut) reject(new Error(`no answer within ${formatGoDuration(timeoutMs)} (-connect-timeout)`))
      else if (err && err.code === grpc.status.UNAVAILABLE) reject(err)
      else resolve()
    })
    const timer = setTimeout(() => {
      timedOut = true
      call.cancel()
    }, timeoutMs)
  })
}

function publishTexts(msg: string, count: number): string[] {
  if (count === 1) return [msg]
  const texts: string[] = []
  for (let i = 1; i <= count; i++) {
    texts.push(msg === '' || msg === 'random' ? `random-${i}-${randomBytes(4).toString('hex')}` : `${msg} ${i}`)
  }
  return texts
}

function subscribe(client: CommandStreamClient, topic: string, jwt: string): void {
  const call = client.ListenCommands()
  let received = 0
  let stopping = false

  const stop = (code: number) => {
    if (stopping) return
    stopping = true
    call.cancel()
    exitWith(code, client)
  }

  call.on('data', (response: SidecarResponse) => {
    switch (response.command) {
      case ResponseType.Message: {
        let body: Buffer
        try {
          const json = JSON.parse(Buffer.from(response.data).toString('utf8')) as Partial<DeliveredMessageJson>
          body = Buffer.from(json.Message ?? '', 'base64')
        } catch {
          process.stderr.write(`${PROGRAM}: cannot parse a delivered message\n`)
          return
        }
        received++
        out(`[${received}] Received message: ${goQuote(body)}`)
        return
      }
      case ResponseType.Unknown:
        process.stderr.write(`${PROGRAM}: node says: ${errorText(response)}\n`)
        if (AUTH_CODES.has(errorCode(response))) {
          out(`Total messages received: ${received}`)
          stop(1)
        }
        return
      case ResponseType.MessageTraceMumP2P:
      case ResponseType.MessageTraceGossipSub:
        return
      default:
        process.stderr.write(`${PROGRAM}: unknown response command: ${response.command}\n`)
    }
  })
  call.on('error', (err: grpc.ServiceError) => {
    if (stopping) return
    process.stderr.write(`${PROGRAM}: stream ended: ${grpcDetails(err)}\n`)
    out(`Total messages received: ${received}`)
    stop(1)
  })
  call.on('status', (status: grpc.StatusObject) => {
    if (stopping || status.code !== grpc.status.OK) return
    process.stderr.write(`${PROGRAM}: the node closed the stream\n`)
    out(`Total messages received: ${received}`)
    stop(0)
  })

  const onSignal = () => {
    if (stopping) return
    if (process.stderr.isTTY) process.stderr.write('\n')
    out(`Total messages received: ${received}`)
    stop(0)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  call.write({ command: Command.Subscribe, topic, jwt_token: jwt })
  out(`Subscribed to topic ${goQuote(topic)}, waiting for messages…`)
}

async function publish(
  client: CommandStreamClient,
  topic: string,
  texts: string[],
  sleepMs: number,
  flushTimeoutMs: number,
  jwt: string,
): Promise<void> {
  const call = client.ListenCommands()
  let refused = 0
  let interrupted = false
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve))
  let status: grpc.StatusObject | undefined
  void ended.then((s) => (status = s))
  call.on('error', () => {
    // reported through 'status'
  })
  call.on('data', (response: SidecarResponse) => {
    if (response.command === ResponseType.Unknown) {
      refused++
      process.stderr.write(`${PROGRAM}: node refused a message: ${errorText(response)}\n`)
    }
  })
  const onSignal = () => {
    interrupted = true
    call.cancel()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  let sent = 0
  for (const text of texts) {
    if (status || interrupted) break
    const ok = call.write({ command: Command.Publish, topic, data: Buffer.from(text, 'utf8'), jwt_token: jwt })
    sent++
    out(`Published ${goQuote(text)} to ${goQuote(topic)}`)
    if (!ok) await Promise.race([new Promise((resolve) => call.once('drain', resolve)), ended])
    if (sleepMs > 0 && sent < texts.length) await Promise.race([delay(sleepMs), ended])
  }
  if (interrupted) {
    process.stderr.write(`${PROGRAM}: interrupted after ${sent} of ${texts.length} messages\n`)
    exitWith(130, client)
    return
  }
  call.end()

  let timer: NodeJS.Timeout | undefined
  const final = await Promise.race([
    ended,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), flushTimeoutMs)
    }),
  ])
  clearTimeout(timer)
  if (interrupted) {
    process.stderr.write(`${PROGRAM}: interrupted while the node was taking the messages\n`)
    exitWith(130, client)
    return
  }
  if (final === undefined) {
    call.cancel()
    process.stderr.write(
      `${PROGRAM}: the node did not confirm the publishes within ${formatGoDuration(flushTimeoutMs)} (-flush-timeout)\n`,
    )
    exitWith(1, client)
    return
  }
  if (final.code !== grpc.status.OK) {
    process.stderr.write(`${PROGRAM}: publish stream failed after ${sent} of ${texts.length} messages: ${grpcDetails(final)}\n`)
    exitWith(1, client)
    return
  }
  exitWith(refused > 0 || sent < texts.length ? 1 : 0, client)
}

/** The `code` of an error response; '' when it has none. */
function errorCode(response: SidecarResponse): string {
  try {
    const json = JSON.parse(Buffer.from(response.data).toString('utf8')) as { code?: unknown }
    return typeof json.code === 'string' ? json.code : ''
  } catch {
    return ''
  }
}

function errorText(response: SidecarResponse): string {
  const text = Buffer.from(response.data).toString('utf8')
  try {
    const json = JSON.parse(text) as { error?: unknown }
    if (typeof json.error === 'string') return json.error
  } catch {
    // not JSON: show it as it is
  }
  return goQuote(text)
}

async function main(): Promise<void> {
  const { values, set } = parseFlagsOrExit(FLAGS, process.argv.slice(2), PROGRAM)
  if (values.topic === '') fail('-topic is required')
  if (values.mode !== 'subscribe' && values.mode !== 'publish') fail(`unknown mode ${goQuote(values.mode)} (use subscribe or publish)`)
  if (values.mode === 'publish' && values.msg === '' && values.count === 1) fail('-msg is required in publish mode')
  if (values.count < 1) fail('-count must be at least 1')
  if (values.sleep < 0) fail('-sleep must not be negative')

  const keepaliveIntervalMs = set.has('keepalive-time') && !set.has('keepalive-interval') ? values['keepalive-time'] : values['keepalive-interval']
  const client = connectSidecar(values.addr, { keepalive: { keepaliveIntervalMs, keepaliveTimeoutMs: values['keepalive-timeout'] } })
  try {
    await connect(client, values['connect-timeout'])
  } catch (err) {
    client.close()
    fail(`cannot reach the sidecar at ${values.addr}: ${grpcDetails(err as grpc.ServiceError)}`)
  }

  if (values.mode === 'subscribe') subscribe(client, values.topic, values.jwt)
  else await publish(client, values.topic, publishTexts(values.msg, values.count), values.sleep, values['flush-timeout'], values.jwt)
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)))
