/**
 * A proxy in front of a node with SIDECAR_AUTH on: with P2P_NODE_TOKEN its
 * links subscribe and publish as before (REST publish → WebSocket delivery);
 * a link without a token is refused by the node (its other refusals:
 * node/test/sidecar-auth.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_BACKOFF } from '../../common/backoff.js'
import { isOptimumError } from '../../common/errors.js'
import { silentLogger } from '../../common/logger.js'
import { JwksServer, signingKey, signToken } from '../../common/test/support/jwks.js'
import type { RunningNode } from '../../node/node.js'
import { startTestNode } from '../../node/test/support/network.js'
import { NodeLink } from '../nodes/node-link.js'
import type { RunningProxy } from '../proxy.js'
import { postJson, proxyConfig, startTestProxy, TestWs, testPrefix, waitFor } from './support/cluster.js'
import { LOCAL_REDIS, removePrefix } from './support/store.js'

const AUDIENCE = 'https://optimum.test/nodes'

describe('proxy links to a node with SIDECAR_AUTH on', () => {
  const jwks = new JwksServer()
  const prefix = testPrefix('node-auth')
  let node: RunningNode
  let proxy: RunningProxy
  let address: string
  const sockets: TestWs[] = []

  beforeAll(async () => {
    await jwks.start()
    const key = await signingKey('node-key')
    jwks.published = [key]
    node = await startTestNode('gossipsub', { SIDECAR_AUTH: 'true', AUTH0_AUDIENCE: AUDIENCE, AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: jwks.issuer })
    address = `127.0.0.1:${node.ports.sidecar}`
    const nodeToken = await signToken({ key, issuer: jwks.issuer, audience: AUDIENCE, claims: { sub: 'proxy-1' } })
    proxy = await startTestProxy(proxyConfig(address, prefix, { P2P_NODE_TOKEN: nodeToken }))
  }, 60_000)

  afterAll(async () => {
    for (const ws of sockets) ws.ws.terminate()
    await proxy?.stop()
    await node?.stop()
    await jwks.stop()
    await removePrefix(LOCAL_REDIS, prefix)
  })

  it('subscribes and publishes with P2P_NODE_TOKEN: a REST publish reaches a WebSocket subscriber', async () => {
    const http = proxy.ports.http
    expect((await postJson(http, '/api/v1/subscribe', { client_id: 'alice', topic: 'guarded', threshold: 0.1 })).json.status).toBe('subscribed')
    await waitFor('the node subscribed for the proxy', () => node.engine.topics().includes('guarded'), 15_000)
    const ws = new TestWs(http, 'client_id=alice')
    sockets.push(ws)
    await ws.opened
    const { status, json } = await postJson(http, '/api/v1/publish', { client_id: 'alice', topic: 'guarded', message: 'through an authenticated link' })
    expect(status, JSON.stringify(json)).toBe(200)
    await waitFor('the delivery', () => ws.texts().length > 0, 15_000)
    expect(ws.texts()).toEqual(['through an authenticated link'])
  })

  it('a link without a token is refused: its publish is UNAUTHENTICATED', async () => {
    const link = new NodeLink({ address, log: silentLogger, backoff: DEFAULT_BACKOFF, onDelivery: async () => {} })
    try {
      const refusal = await link.publish('no-token-topic', Buffer.from('x'), 'no-token-1', 5_000).then(() => undefined, (err: unknown) => err)
      expect(isOptimumError(refusal) && refusal.code).toBe('unauthenticated')
    } finally {
      link.stop()
    }
  })
})
