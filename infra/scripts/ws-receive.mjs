#!/usr/bin/env node
// A tiny WebSocket listener for test_suite.sh when wscat is not installed, with wscat's
// output lines: "Connected (press CTRL+C to quit)", then "< <frame>" per message.
// Usage: node infra/scripts/ws-receive.mjs ws://localhost:8081/api/v1/ws?client_id=me
import WebSocket from 'ws'

const url = process.argv[2]
if (!url) {
  process.stderr.write('usage: ws-receive.mjs <ws://…/api/v1/ws?client_id=…>\n')
  process.exit(2)
}
const socket = new WebSocket(url)
socket.on('open', () => process.stdout.write('Connected (press CTRL+C to quit)\n'))
socket.on('message', (data) => process.stdout.write(`< ${data.toString()}\n`))
socket.on('close', (code, reason) => {
  process.stdout.write(`Disconnected (code: ${code}, reason: "${reason.toString()}")\n`)
  process.exit(0)
})
socket.on('error', (err) => {
  process.stderr.write(`error: ${err.message}\n`)
  process.exit(1)
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => socket.close(1000))
