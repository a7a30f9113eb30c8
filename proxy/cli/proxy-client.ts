import '../../common/polyfill.js'
import { randomBytes } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import * as grpc from '@grpc/grpc-js'
import { boolFlag, durationFlag, floatFlag, intFlag, parseFlagsOrExit, stringFlag } from '../../common/cli/go-flags.js'
import { goQuote } from '../../common/cli/go-quote.js'
import { clientChannelOptions } from '../../common/grpc-options.js'
import { loadProxyProto, type ProxyMessage } from '../../common/proto.js'

/**
 * The proxy client, with the flags of the published Go `proxy_client`:
 * subscribes through the proxy's REST API, opens the gRPC `ClientStream`
 * (first frame: the client id) and prints what arrives; unless
 * -subscribeOnly it also publishes -count messages through REST, -delay
 * apart. It runs until Ctrl-C, then prints the total.
 *
 *   proxy-client -subscribeOnly -topic=test -threshold=0.7
 *   proxy-client -topic=test -threshold=0.7 -count=10 -delay=2s
 *   proxy-client -proxy=http://localhost:8082 -grpc=localhost:50052 …
 */

const PROGRAM = 'proxy-client'

const FLAGS = {
  topic: stringFlag('demo', 'topic name to subscribe/publish'),
  threshold: floatFlag(0.1, 'delivery threshold 0.0 to 1.0'),
  subscribeOnly: boolFlag(false, 'only subscribe and receive messages'),
  count: intFlag(5, 'number of messages to publish'),
  delay: durationFlag(2_000, 'delay between message publishing'),
  'keepalive-interval': durationFlag(2 * 60_000, 'gRPC keepalive ping interval (at least 10s)'),
  'keepalive-timeout': durationFlag(20_000, 'gRPC keepalive ping timeout'),
  proxy: stringFlag('http://localhost:8081', 'proxy REST base URL'),
  grpc: stringFlag('localhost:50051', 'proxy gRPC address'),
  'client-id': stringFlag('', 'client id (default: a new random one)'),
}

function fail(message: string): never {
  process.stderr.write(`${PROGRAM}: ${message}\n`)
  process.exit(1)
}

async function post(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  let response: Response
  try {
    response = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  } catch (err) {
    throw new Error(`cannot reach the proxy at ${base}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`)
  }
  const text = await response.text()
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new Error(`the proxy answered ${response.status} with ${goQuote(text.slice(0, 200))}`)
  }
  if (!response.ok) throw new Error(typeof json.error === 'string' ? json.error : `the proxy answered ${response.status}`)
  return json
}

async function main(): Promise<void> {
  const { values } = parseFlagsOrExit(FLAGS, process.argv.slice(2), PROGRAM)
  if (values.topic === '') fail('-topic is required')
  if (!(values.threshold >= 0 && values.threshold <= 1)) fail('-threshold must be from 0.0 to 1.0')
  if (values.count < 0) fail('-count must not be negative')
  const clientId = values['client-id'] || `client_${randomBytes(4).toString('hex')}`

  await post(values.proxy, '/api/subscribe', { client_id: clientId, topic: values.topic, threshold: values.threshold })
  process.stdout.write(`Subscribed to topic ${goQuote(values.topic)} (threshold ${values.threshold}) as ${clientId}\n`)

  const { ProxyStream } = loadProxyProto()
  const client = new ProxyStream(
    values.grpc,
    grpc.credentials.createInsecure(),
    clientChannelOptions({ keepaliveIntervalMs: values['keepalive-interval'], keepaliveTimeoutMs: values['keepalive-timeout'] }),
  )
  const call = client.ClientStream()
  let received = 0
  let stopping = false
  const stop = (code: number) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`Total messages received: ${received}\n`)
    call.cancel()
    client.close()
    process.exitCode = code
    setTimeout(() => process.exit(code), 1_000).unref()
  }
  call.on('data', (frame: ProxyMessage) => {
    if (frame.type === 'message' || frame.type === '') {
      received++
      process.stdout.write(`[${received}] Received message: ${goQuote(frame.message)}\n`)
    } else if (frame.type === 'error') {
      process.stderr.write(`${PROGRAM}: proxy says: ${frame.message.toString('utf8')}\n`)
    }
  })
  call.on('error', (err: grpc.ServiceError) => {
    if (stopping) return
    process.stderr.write(`${PROGRAM}: stream ended: ${err.details || err.message}\n`)
    stop(1)
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(0))
  call.write({ client_id: clientId })

  if (values.subscribeOnly) return
  for (let i = 1; i <= values.count && !stopping; i++) {
    const message = `${values.topic} message ${i} at ${new Date().toISOString()}`
    try {
      const json = await post(values.proxy, '/api/publish', { client_id: clientId, topic: values.topic, message })
      process.stdout.write(`Published ${goQuote(message)} to ${goQuote(values.topic)} (message_id ${String(json.message_id)})\n`)
    } catch (err) {
      process.stderr.write(`${PROGRAM}: publish failed: ${(err as Error).message}\n`)
    }
    if (i < values.count) await delay(values.delay)
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)))
