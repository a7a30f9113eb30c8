import { describe, expect, it } from 'vitest'
import { WS_CLOSE, WS_CLOSE_BY_HUB_CODE } from '../ws/close-codes.js'
import { gapFrame, messageFrame } from '../ws/frames.js'

describe('WebSocket frames', () => {
  it('carry a delivery in the published shape (message as base64) plus cursor and nodes', () => {
    const data = new Uint8Array(Buffer.from('\u0000binary\u00ff'))
    const frame = JSON.parse(messageFrame({ topic: 't', messageId: 'm1', data, source: '12D3KooWsource', cursor: '17-3', nodes: 2 }).toString())
    expect(frame).toEqual({ source_node_id: '12D3KooWsource', topic: 't', message_id: 'm1', message: Buffer.from(data).toString('base64'), cursor: '17-3', nodes: 2 })
  })

  it('encode only the bytes of a view into a larger buffer', () => {
    const whole = Buffer.from('xxhelloxx')
    const frame = JSON.parse(messageFrame({ topic: 't', messageId: 'm', data: whole.subarray(2, 7), source: '', cursor: '1-0', nodes: 1 }).toString())
    expect(Buffer.from(frame.message, 'base64').toString()).toBe('hello')
  })

  it('are encoded once per stream event, however many clients get it', () => {
    const data = new Uint8Array(Buffer.from('shared'))
    const delivery = { topic: 't', messageId: 'm', data, source: 's', cursor: '5-0', nodes: 1 }
    expect(messageFrame({ ...delivery })).toBe(messageFrame({ ...delivery }))
    const later = JSON.parse(messageFrame({ ...delivery, cursor: '6-0', nodes: 2 }).toString())
    expect(later).toMatchObject({ cursor: '6-0', nodes: 2 })
  })

  it('tell a client about a gap instead of skipping it silently', () => {
    expect(JSON.parse(gapFrame({ topic: 't', after: '1-0', until: '9-0', reason: 'trimmed' }).toString())).toEqual({ type: 'gap', topic: 't', after: '1-0', until: '9-0', reason: 'trimmed' })
  })

  it('close slow consumers with an application code, shutdowns as going away', () => {
    expect(WS_CLOSE_BY_HUB_CODE).toEqual({ slow_consumer: 4008, shutdown: 1001 })
    expect(WS_CLOSE.tryAgainLater).toBe(1013)
  })
})
