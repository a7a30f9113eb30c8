import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { libp2pSigning } from '../optimum/signing.js'

describe('header signatures with the libp2p key', () => {
  it.each(['Ed25519', 'secp256k1'] as const)('%s: signs what libp2p verifies, verifies what libp2p signs, names the publisher', async (type) => {
    const key = await generateKeyPair(type)
    const other = libp2pSigning(await generateKeyPair('Ed25519'))
    const signing = libp2pSigning(key)
    const bytes = new TextEncoder().encode('header bytes')
    const signature = signing.sign(bytes)
    expect(await key.publicKey.verify(bytes, signature)).toBe(true)
    expect(other.verify(signing.publicKey, bytes, await key.sign(bytes))).toBe(peerIdFromPrivateKey(key).toString())
    expect(other.verify(signing.publicKey, bytes, signature)).toBe(peerIdFromPrivateKey(key).toString())
  })

  it('refuses a tampered message, a wrong key and garbage without throwing', async () => {
    const signing = libp2pSigning(await generateKeyPair('Ed25519'))
    const bytes = new Uint8Array([1, 2, 3])
    const signature = signing.sign(bytes)
    expect(signing.verify(signing.publicKey, new Uint8Array([1, 2, 4]), signature)).toBeUndefined()
    expect(signing.verify(libp2pSigning(await generateKeyPair('Ed25519')).publicKey, bytes, signature)).toBeUndefined()
    expect(signing.verify(new Uint8Array([9, 9, 9]), bytes, signature)).toBeUndefined()
    expect(signing.verify(signing.publicKey, bytes, new Uint8Array(3))).toBeUndefined()
  })
})
