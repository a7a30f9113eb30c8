import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../node.js'
import type { HealthResponse } from '../../common/proto.js'
import { SidecarClient, startTestNode } from './support/network.js'

describe('a gossipsub node', () => {
  let node: RunningNode
  beforeAll(async () => {
    node = await startTestNode('gossipsub', { NODE_COUNTRY: 'Germany', NODE_COUNTRY_ISO: 'de' })
  })
  afterAll(async () => {
    await node.stop()
  })

  it('reports its libp2p address and location in the sidecar Health', async () => {
    const client = new SidecarClient(node.ports.sidecar)
    try {
      const health = await new Promise<HealthResponse>((resolve, reject) =>
        client.client.Health({}, (err, res) => (err ? reject(err) : resolve(res!))),
      )
      expect(health).toMatchObject({ status: true, nodeMode: 'gossipsub', p2pAddress: node.multiaddrs()[0], country: 'Germany', country_iso: 'DE' })
      expect(health.p2pAddress).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/)
    } finally {
      client.close()
    }
  })

  it('the same id and body is a no-op; the same id with another body is already_exists', async () => {
    const { engine } = node
    expect(await engine.publish('idem', Buffer.from('body'), 'id-1')).toMatchObject({ id: 'id-1', fresh: true })
    expect(await engine.publish('idem', Buffer.from('body'), 'id-1')).toMatchObject({ id: 'id-1', fresh: false })
    await expect(engine.publish('idem', Buffer.from('other body'), 'id-1')).rejects.toMatchObject({
      code: 'already_exists',
      message: expect.stringContaining('different body'),
    })
  })

  it('two publishes of one id at once: one goes out, the other learns it is a repeat', async () => {
    const results = await Promise.all([1, 2].map(() => node.engine.publish('idem', Buffer.from('together'), 'id-2')))
    expect(results.map((r) => r.fresh).sort()).toEqual([false, true])
  })
})
