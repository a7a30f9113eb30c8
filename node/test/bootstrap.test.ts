import { afterEach, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { BootstrapDialer } from '../host/bootstrap.js'
import { waitFor } from './support/network.js'

/** Captures log lines so the test can check that state changes, not attempts, are logged. */
function captureLog() {
  const lines: Array<{ msg: string }> = []
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { log, lines }
}

describe('BootstrapDialer', () => {
  let dialer: BootstrapDialer | undefined
  afterEach(() => dialer?.stop())

  it('retries an unreachable peer with backoff and logs once per state change', async () => {
    const { log, lines } = captureLog()
    let attempts = 0
    let connected = false
    dialer = new BootstrapDialer({
      targets: [{ addr: '/ip4/127.0.0.1/tcp/1/p2p/x', peerId: 'x' }],
      dial: async () => {
        attempts++
        if (attempts < 4) throw new Error('ECONNREFUSED')
        connected = true
      },
      isConnected: () => connected,
      log,
      minDelayMs: 10,
      maxDelayMs: 40,
    })
    dialer.start()
    await waitFor('the fourth attempt to succeed', () => connected, 5_000)
    expect(attempts).toBe(4)
    expect(lines.map((l) => l.msg)).toEqual([
      'bootstrap peer unreachable; retrying with backoff',
      'connected to bootstrap peer',
    ])
  })

  it('redials a bootstrap peer that disconnects, and ignores other peers', async () => {
    const { log, lines } = captureLog()
    let dials = 0
    dialer = new BootstrapDialer({
      targets: [{ addr: '/ip4/127.0.0.1/tcp/1/p2p/boot', peerId: 'boot' }],
      dial: async () => {
        dials++
      },
      isConnected: () => false,
      log,
      minDelayMs: 10,
    })
    dialer.start()
    await waitFor('the first dial', () => dials === 1)
    dialer.peerDisconnected('someone-else')
    dialer.peerDisconnected('boot')
    await waitFor('the redial', () => dials === 2)
    // No event marks "no further dial": five backoff periods (minDelayMs 10) without one will do.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(dials).toBe(2)
    expect(lines.map((l) => l.msg)).toContain('lost connection to bootstrap peer; redialling')
  })

  it('stops retrying when stopped', async () => {
    const { log } = captureLog()
    let attempts = 0
    dialer = new BootstrapDialer({
      targets: [{ addr: '/ip4/127.0.0.1/tcp/1/p2p/x', peerId: 'x' }],
      dial: async () => {
        attempts++
        throw new Error('down')
      },
      isConnected: () => false,
      log,
      minDelayMs: 5,
      maxDelayMs: 5,
    })
    dialer.start()
    await waitFor('a few attempts', () => attempts >= 2)
    dialer.stop()
    const seen = attempts
    // No event marks "no further attempt": twelve retry periods (5 ms) without more than the one in flight will do.
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(attempts).toBeLessThanOrEqual(seen + 1)
  })
})
