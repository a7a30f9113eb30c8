import { publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { OptimumError } from '../../common/errors.js'
import type { CoreEnv, PeerKey } from './types.js'

/** Publisher keys parsed recently: most messages come from a few publishers, and parsing costs more than verifying. */
const KEY_CACHE_SIZE = 1_024

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
  const keys = new Map<string, { key: PublicKey; peer: PeerKey }>()
  const publisher = (bytes: Uint8Array): { key: PublicKey; peer: PeerKey } => {
    const cacheKey = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
    let entry = keys.get(cacheKey)
    if (entry === undefined) {
      const parsed = publicKeyFromProtobuf(bytes)
      entry = { key: parsed, peer: peerIdFromPublicKey(parsed).toString() }
      if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value!)
      keys.set(cacheKey, entry)
    }
    return entry
  }
  return {
    publicKey: publicKeyToProtobuf(key.publicKey),
    sign(bytes) {
      const signature = key.sign(bytes)
      if (signature instanceof Promise) throw new OptimumError('internal', 'the identity key signs asynchronously')
      return signature
    },
    verify(publicKey, bytes, signature) {
      try {
        const { key: parsed, peer } = publisher(publicKey)
        const ok = parsed.verify(bytes, signature)
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
