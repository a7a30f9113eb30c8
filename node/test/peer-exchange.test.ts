import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadWireType } from '../../common/proto.js'
import { MAX_ADDR_LENGTH, MAX_ADDRS_PER_PEER, MAX_PEERS, parsePeerList } from '../host/peer-exchange.js'

const PeerList = loadWireType('peer_exchange.proto', 'optimum.px.PeerList')
const encode = (peers: Array<{ peer_id: string; addrs: string[] }>) => PeerList.encode({ peers }).finish()

async function newPeerId(): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('parsePeerList (peer-exchange replies are peer input)', () => {
  let self: PeerId
  const others: PeerId[] = []
  beforeAll(async () => {
    self = await newPeerId()
    for (let i = 0; i < MAX_PEERS + 1; i++) others.push(await newPeerId())
  })

  it('accepts dialable TCP addresses and leaves ourselves out', () => {
    const [a, b] = [others[0]!.toString(), others[1]!.toString()]
    const list = parsePeerList(
      encode([
        { peer_id: a, addrs: ['/ip4/10.0.0.1/tcp/7070', `/ip4/10.0.0.1/tcp/7071/p2p/${a}`] },
        { peer_id: b, addrs: ['/ip6/::1/tcp/7070', '/dns4/p2pnode-2/tcp/7070'] },
        { peer_id: self.toString(), addrs: ['/ip4/10.0.0.9/tcp/7070'] },
      ]),
      self,
    )
    expect(list.map((c) => [c.id.toString(), c.addrs.map(String)])).toEqual([
      [a, ['/ip4/10.0.0.1/tcp/7070', `/ip4/10.0.0.1/tcp/7071/p2p/${a}`]],
      [b, ['/ip6/::1/tcp/7070', '/dns4/p2pnode-2/tcp/7070']],
    ])
  })

  it('refuses a whole reply that breaks a rule', () => {
    const a = others[0]!.toString()
    const b = others[1]!.toString()
    const good = { peer_id: a, addrs: ['/ip4/10.0.0.1/tcp/7070'] }
    const cases: Array<[string, Uint8Array]> = [
      ['does not decode', Uint8Array.from([0x0a, 0xff, 0xff, 0xff])],
      [`at most ${MAX_PEERS}`, encode(others.slice(0, MAX_PEERS + 1).map((p) => ({ peer_id: p.toString(), addrs: ['/ip4/10.0.0.1/tcp/1'] })))],
      ['malformed peer id', encode([good, { peer_id: '12D3KooWnope', addrs: ['/ip4/10.0.0.1/tcp/1'] }])],
      ['twice', encode([good, good])],
      ['1 to', encode([good, { peer_id: b, addrs: [] }])],
      ['1 to', encode([{ peer_id: a, addrs: Array.from({ length: MAX_ADDRS_PER_PEER + 1 }, (_, i) => `/ip4/10.0.0.1/tcp/${i + 1}`) }])],
      ['longer than', encode([{ peer_id: a, addrs: [`/dns4/${'x'.repeat(MAX_ADDR_LENGTH)}/tcp/1`] }])],
      ['does not parse', encode([{ peer_id: a, addrs: ['not an address'] }])],
      ['host and a TCP port', encode([{ peer_id: a, addrs: ['/ip4/10.0.0.1/udp/7070'] }])],
      ['host and a TCP port', encode([{ peer_id: a, addrs: ['/ip4/10.0.0.1/tcp/0'] }])],
      ['host and a TCP port', encode([{ peer_id: a, addrs: ['/unix/tmp%2Fsock'] }])],
      ['host and a TCP port', encode([{ peer_id: a, addrs: ['/ip4/10.0.0.1/tcp/7070/ws'] }])],
      ['names another peer', encode([{ peer_id: a, addrs: [`/ip4/10.0.0.1/tcp/7070/p2p/${b}`] }])],
    ]
    for (const [why, bytes] of cases) {
      expect(() => parsePeerList(bytes, self), why).toThrow(expect.objectContaining({ code: 'invalid_argument', message: expect.stringContaining(why) }))
    }
  })
})
