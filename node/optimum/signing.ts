import { createPrivateKey, createPublicKey, sign as signEd25519, verify as verifyEd25519, type KeyObject } from 'node:crypto'
import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { OptimumError } from '../../common/errors.js'
import type { CoreEnv, PeerKey } from './types.js'

/** Publisher keys parsed recently: most messages come from a few publishers, and parsing costs more than verifying. */
const KEY_CACHE_SIZE = 1_024
/** DER prefixes of Ed25519 keys: SubjectPublicKeyInfo (the 32 raw bytes follow) and PKCS#8 (the 32-byte seed follows). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

interface Publisher {
  peer: PeerKey
  check(bytes: Uint8Array, signature: Uint8Array): boolean | Promise<boolean>
}

/**
 * A verifier for one publisher key. Ed25519 (every key this node software
 * makes) goes straight to node:crypto with the key object built once;
 * @libp2p/crypto re-imports the key on every call, which costs ten times the
 * verification itself. Other key types use @libp2p/crypto.
 */
function publisherOf(bytes: Uint8Array): Publisher {
  const key: PublicKey = publicKeyFromProtobuf(bytes)
  const peer = peerIdFromPublicKey(key).toString()
  if (key.type === 'Ed25519') {
    const object: KeyObject = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key.raw]), format: 'der', type: 'spki' })
    return { peer, check: (data, signature) => verifyEd25519(null, data, object, signature) }
  }
  return { peer, check: (data, signature) => key.verify(data, signature) }
}

export type Signing = Pick<CoreEnv, 'sign' | 'verify' | 'publicKey'>

/**
 * Header signatures with the node's libp2p key. The core calls these
 * synchronously, which Ed25519, secp256k1 and RSA keys allow in Node
 * (@libp2p/crypto signs them with node:crypto); a key whose signing is
 * asynchronous (ECDSA through WebCrypto) is refused at start-up, and such a
 * publisher's headers never verify.
 */
export function libp2pSigning(key: PrivateKey): Signing {
  if (key.type === 'ECDSA') {
    throw new OptimumError('invalid_argument', 'NODE_MODE=optimum needs an Ed25519, secp256k1 or RSA identity key; this one is ECDSA')
  }
  const sign = signer(key)
  const keys = new Map<string, Publisher>()
  const publisher = (bytes: Uint8Array): Publisher => {
    const cacheKey = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
    let entry = keys.get(cacheKey)
    if (entry === undefined) {
      entry = publisherOf(bytes)
      if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value!)
      keys.set(cacheKey, entry)
    }
    return entry
  }
  return {
    publicKey: publicKeyToProtobuf(key.publicKey),
    sign,
    verify(publicKey, bytes, signature) {
      try {
        const { check, peer } = publisher(publicKey)
        const ok = check(bytes, signature)
        if (ok instanceof Promise) {
          ok.catch(() => {})
          return undefined
        }
        return ok ? peer : undefined
      } catch {
        return undefined // a key that does not parse is an invalid signature, not a crash
      }
    },
  }
}

/** Signs with the node's key; Ed25519 through a key object made once (see publisherOf). */
function signer(key: PrivateKey): (bytes: Uint8Array) => Uint8Array {
  if (key.type === 'Ed25519') {
    const object = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, key.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
    return (bytes) => signEd25519(null, bytes, object)
  }
  return (bytes) => {
    const signature = key.sign(bytes)
    if (signature instanceof Promise) throw new OptimumError('internal', 'the identity key signs asynchronously')
    return signature
  }
}
