import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { OptimumError, type ErrorCode } from '../errors.js'
import { silentLogger, type Logger } from '../logger.js'
import { crc64Iso } from './crc64.js'

/**
 * The node identity file, `IDENTITY_DIR/p2p.key`, in the layout the published
 * go-libp2p tooling writes, so a key moves between implementations unchanged:
 *
 *   bytes 0..7   CRC-64/GO-ISO of the rest, little-endian (see crc64.ts)
 *   bytes 8..    JSON {"Key":"<base64>","ID":"12D3KooW…"}
 *
 * `Key` is the protobuf-marshalled libp2p private key (Go: crypto.MarshalPrivateKey,
 * js: privateKeyToProtobuf) in standard padded base64, as Go's encoding/json
 * writes a []byte; `ID` is the peer id of that key. Go's reader only checks
 * the length, the checksum and the key; this one also checks that `ID`, when
 * present, names the key (a mismatch means the file was edited by hand).
 *
 * A damaged file is an error, never a reason to make a new key: a node that
 * silently changed its peer id would drop out of every bootstrap list.
 */

export const KEY_FILE_NAME = 'p2p.key'

/** Why an identity file could not be used. */
export type IdentityErrorReason =
  | 'not_found' // no p2p.key in the directory
  | 'already_exists' // writeIdentity without overwrite, and the file is there
  | 'too_short' // fewer than 8 bytes
  | 'checksum_mismatch'
  | 'bad_json' // not JSON, or not an object with a string Key
  | 'bad_key' // Key is not a libp2p private key
  | 'id_mismatch' // ID is not the peer id of Key
  | 'io' // the file system refused (permissions, not a directory, …)

const CODE_OF: Record<IdentityErrorReason, ErrorCode> = {
  not_found: 'not_found',
  already_exists: 'already_exists',
  too_short: 'invalid_argument',
  checksum_mismatch: 'invalid_argument',
  bad_json: 'invalid_argument',
  bad_key: 'invalid_argument',
  id_mismatch: 'invalid_argument',
  io: 'internal',
}

export class IdentityError extends OptimumError {
  constructor(
    readonly reason: IdentityErrorReason,
    /** The p2p.key path the error is about. */
    readonly path: string,
    message: string,
    options?: { code?: ErrorCode; cause?: unknown },
  ) {
    super(options?.code ?? CODE_OF[reason], message)
    this.name = 'IdentityError'
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause
  }
}

export function isIdentityError(err: unknown, reason?: IdentityErrorReason): err is IdentityError {
  return err instanceof IdentityError && (reason === undefined || err.reason === reason)
}

/** `dir/p2p.key`. */
export function keyFilePath(dir: string): string {
  return path.join(dir, KEY_FILE_NAME)
}

/** The peer id string (`12D3KooW…` for Ed25519) of a private key. */
export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString()
}

/** The bytes of a p2p.key file holding `key`: checksum, then the JSON Go's json.Marshal writes. */
export function encodeIdentityFile(key: PrivateKey): Uint8Array {
  const json = JSON.stringify({ Key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), ID: peerIdOf(key) })
  const body = Buffer.from(json, 'utf8')
  const file = Buffer.alloc(8 + body.length)
  file.writeBigUInt64LE(crc64Iso(body), 0)
  body.copy(file, 8)
  return file
}

/**
 * Parses the bytes of a p2p.key file (`file` is only used in messages).
 * Throws IdentityError: too_short, checksum_mismatch, bad_json, bad_key, id_mismatch.
 */
export async function decodeIdentityFile(data: Uint8Array, file: string): Promise<PrivateKey> {
  const replace = `npm run keygen -- --dir ${quoteArg(path.dirname(file))} --force`
  const damaged = (reason: IdentityErrorReason, what: string, cause?: unknown): IdentityError =>
    new IdentityError(
      reason,
      file,
      `identity file ${file} is damaged (${what}); it was left as it is: restore it from a backup, or replace it with a new key (${replace}), which changes the peer id`,
      { cause },
    )

  // 1. Length and checksum, with Go's wording.
  if (data.length < 8) {
    throw damaged('too_short', `file is too short: ${data.length} byte${data.length === 1 ? '' : 's'}, the checksum alone takes 8`)
  }
  const body = data.subarray(8)
  const stored = Buffer.from(data.buffer, data.byteOffset, 8).readBigUInt64LE(0)
  const computed = crc64Iso(body)
  if (stored !== computed) {
    throw damaged('checksum_mismatch', `checksum mismatch: ${stored.toString(16)} != ${computed.toString(16)}`)
  }

  // 2. JSON, read the way Go's encoding/json fills struct{ Key []byte; ID peer.ID }.
  let parsed: unknown
  try {
    // ignoreBOM keeps a leading BOM in the text, so it fails as it does in Go.
    parsed = JSON.parse(new TextDecoder('utf-8', { ignoreBOM: true }).decode(body))
  } catch (err) {
    throw damaged('bad_json', `not JSON: ${(err as Error).message}`, err)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw damaged('bad_json', 'the JSON is not an object with Key and ID')
  }
  let keyField: unknown
  let idField: unknown
  // Go matches field names case-insensitively; with duplicates the last one wins.
  for (const [name, value] of Object.entries(parsed)) {
    const lower = name.toLowerCase()
    if (lower === 'key') keyField = value
    else if (lower === 'id') idField = value
  }
  if (typeof keyField !== 'string') {
    throw damaged('bad_json', keyField === undefined || keyField === null ? 'no Key field' : 'the Key field is not a base64 string')
  }
  if (idField !== undefined && idField !== null && typeof idField !== 'string') {
    throw damaged('bad_json', 'the ID field is not a string')
  }

  // 3. The key: standard base64 with padding (Go ignores CR and LF in it), then libp2p's protobuf.
  const base64 = keyField.replace(/[\r\n]/g, '')
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(base64)) {
    throw damaged('bad_json', 'the Key field is not standard base64')
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(Buffer.from(base64, 'base64'))
  } catch (err) {
    throw damaged('bad_key', `the Key field is not a libp2p private key: ${(err as Error).message}`, err)
  }
  if (key.type === 'Ed25519' && !(await ed25519HalvesMatch(key))) {
    throw damaged('bad_key', 'the public half of the Ed25519 key does not belong to its private half')
  }

  // 4. ID, when present, must be the key's peer id.
  const peerId = peerIdFromPrivateKey(key)
  if (typeof idField === 'string') {
    let matches: boolean
    try {
      matches = peerIdFromString(idField).equals(peerId)
    } catch {
      matches = false
    }
    if (!matches) {
      throw new IdentityError(
        'id_mismatch',
        file,
        `identity file ${file} says ID ${JSON.stringify(idField)} but its key is peer id ${peerId.toString()}: the file was edited; it was left as it is: fix the ID field, restore the file from a backup, or replace it (${replace})`,
      )
    }
  }
  return key
}

/** A path as a shell word, for the hints in messages. */
function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
}

/** libp2p keeps an Ed25519 key as seed ++ public key; a file could pair a seed with a foreign public key. */
async function ed25519HalvesMatch(key: PrivateKey): Promise<boolean> {
  const raw = key.raw
  if (raw.length !== 64) return true
  const derived = await generateKeyPairFromSeed('Ed25519', raw.subarray(0, 32))
  return derived.equals(key) && derived.publicKey.equals(key.publicKey)
}

/**
 * Reads `dir/p2p.key`. Throws IdentityError naming the path: not_found when
 * there is no file; too_short, checksum_mismatch, bad_json, bad_key,
 * id_mismatch for a damaged file; io when the file system refuses.
 */
export async function readIdentity(dir: string): Promise<PrivateKey> {
  const file = keyFilePath(dir)
  let data: Uint8Array
  try {
    data = await fs.readFile(file)
  } catch (err) {
    throw ioError(err, file, 'read')
  }
  return decodeIdentityFile(data, file)
}

export interface WriteIdentityOptions {
  /** Replace an existing p2p.key (its file mode is kept). Default: refuse with already_exists. */
  overwrite?: boolean
}

/**
 * Writes `key` to `dir/p2p.key` atomically: a temporary file in the same
 * directory is written, fsynced and closed, then moved into place, then the
 * directory is fsynced. Readers see the old file or the new one, never a
 * part. Creates `dir` (and its parents) when missing. A new file has mode
 * 0600; a replaced one keeps its mode. Without `overwrite`, an existing file
 * is never replaced (already_exists), even by a writer racing this one.
 */
export async function writeIdentity(dir: string, key: PrivateKey, opts: WriteIdentityOptions = {}): Promise<void> {
  const file = keyFilePath(dir)
  const data = encodeIdentityFile(key)

  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 })
  } catch (err) {
    throw ioError(err, file, 'create the directory of')
  }
  if (!opts.overwrite && (await exists(file))) throw alreadyExists(file)

  const tmp = path.join(dir, `${KEY_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`)
  let tmpExists = false
  try {
    const handle = await fs.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    tmpExists = true
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }

    if (opts.overwrite) {
      await keepMode(file, tmp)
      await fs.rename(tmp, file)
      tmpExists = false
    } else {
      // A hard link fails with EEXIST if the name is taken, so a file created
      // since the check above is never replaced; then the temp name goes.
      try {
        await fs.link(tmp, file)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EEXIST') throw alreadyExists(file)
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')) throw err
        // No hard links on this file system: check and rename (a narrow race remains).
        if (await exists(file)) throw alreadyExists(file)
        await fs.rename(tmp, file)
        tmpExists = false
      }
      if (tmpExists) {
        await fs.unlink(tmp)
        tmpExists = false
      }
    }
    await syncDirectory(dir)
  } catch (err) {
    if (tmpExists) await fs.rm(tmp, { force: true }).catch(() => undefined)
    if (err instanceof IdentityError) throw err
    throw ioError(err, file, 'write')
  }
}

export interface LoadedIdentity {
  key: PrivateKey
  /** True when the key was made by this call (ephemeral, or written as a new p2p.key). */
  created: boolean
}

/**
 * The node's identity at start-up:
 * - `dir` undefined or empty: a fresh Ed25519 key that is not stored (logged);
 * - `dir/p2p.key` missing: creates `dir`, a new Ed25519 key and the file (logs the new peer id);
 * - `dir/p2p.key` present: reads it;
 * - anything else (damaged file, permissions, …): throws, and the file stays as it is.
 */
export async function loadOrCreateIdentity(dir: string | undefined, log: Logger = silentLogger): Promise<LoadedIdentity> {
  if (dir === undefined || dir === '') {
    const key = await generateKeyPair('Ed25519')
    log.info({ peerId: peerIdOf(key) }, 'IDENTITY_DIR is not set: using an ephemeral identity (a new peer id on every start)')
    return { key, created: true }
  }
  const file = keyFilePath(dir)
  try {
    const key = await readIdentity(dir)
    log.info({ peerId: peerIdOf(key), path: file }, 'loaded identity')
    return { key, created: false }
  } catch (err) {
    if (!isIdentityError(err, 'not_found')) throw err
  }
  const key = await generateKeyPair('Ed25519')
  try {
    await writeIdentity(dir, key)
  } catch (err) {
    // Another process created the file between our read and our write: use its key.
    if (!isIdentityError(err, 'already_exists')) throw err
    const theirs = await readIdentity(dir)
    log.info({ peerId: peerIdOf(theirs), path: file }, 'loaded identity')
    return { key: theirs, created: false }
  }
  log.info({ peerId: peerIdOf(key), path: file }, 'created a new identity')
  return { key, created: true }
}

function alreadyExists(file: string): IdentityError {
  return new IdentityError('already_exists', file, `identity file ${file} already exists`)
}

function ioError(err: unknown, file: string, verb: string): IdentityError {
  const e = err as NodeJS.ErrnoException
  if (e.code === 'ENOENT' && verb === 'read') {
    return new IdentityError('not_found', file, `identity file ${file} does not exist`, { cause: err })
  }
  const code: ErrorCode = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission_denied' : 'internal'
  const why = e.code === 'EISDIR' ? 'it is a directory' : e.code === 'ENOTDIR' ? 'a part of the path is not a directory' : e.message
  return new IdentityError('io', file, `cannot ${verb} identity file ${file}: ${why}`, { code, cause: err })
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw ioError(err, file, 'check')
  }
}

/** Gives `tmp` the permission bits of `file` when `file` exists (as Go's writer does). */
async function keepMode(file: string, tmp: string): Promise<void> {
  let mode: number
  try {
    mode = (await fs.stat(file)).mode & 0o7777
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  await fs.chmod(tmp, mode)
}

/** Makes the rename durable. Some systems cannot fsync a directory; that is not an error there. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await fs.open(dir, fsConstants.O_RDONLY)
  try {
    await handle.sync()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (!['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF'].includes(code ?? '')) throw err
  } finally {
    await handle.close()
  }
}
