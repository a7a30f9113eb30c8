import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../node.js'
import { startTestNode } from './support/network.js'

describe('gossipsub engine idempotency', () => {
  let node: RunningNode
  beforeAll(async () => {
    node = await startTestNode('gossipsub')
  })
  afterAll(async () => {
    await node.stop()
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
