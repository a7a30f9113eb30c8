import * as fs from 'node:fs/promises'
import * as os from 'node:os'
import * as path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { OptimumError } from '../errors.js'
import { crc64Iso } from '../identity/crc64.js'
import {
  IdentityError,
  KEY_FILE_NAME,
  loadOrCreateIdentity,
  readIdentity,
  writeIdentity,
  type IdentityErrorReason,
} from '../identity/key-file.js'

// The Ed25519 test vector of the libp2p peer-id spec; go-libp2p's tests pin its peer id.
const SPEC_KEY_HEX =
  '080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e'
const SPEC_PEER_ID = '12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq'

const dirs: string[] = []

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'optimum-identity-'))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })))
})

/** A p2p.key built by hand: little-endian CRC-64 of the JSON text, then the text. */
function keyFileBytes(json: string): Buffer {
  const body = Buffer.from(json, 'utf8')
  const crc = Buffer.alloc(8)
  crc.writeBigUInt64LE(crc64Iso(body))
  return Buffer.concat([crc, body])
}

async function writeRaw(dir: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(dir, KEY_FILE_NAME)
  await fs.writeFile(file, bytes, { mode: 0o600 })
  return file
}

async function expectIdentityError(promise: Promise<unknown>, reason: IdentityErrorReason, text: RegExp): Promise<IdentityError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected an IdentityError (${reason})`)
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(IdentityError)
  expect(err).toBeInstanceOf(OptimumError)
  const identityError = err as IdentityError
  expect(identityError.reason).toBe(reason)
  expect(identityError.message).toMatch(text)
  return identityError
}

function recordingLogger(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => out.push(line) })
  return { log, lines: () => out.map((line) => JSON.parse(line) as Record<string, unknown>) }
}

describe('writeIdentity / readIdentity', () => {
  it('round-trips an Ed25519 key (raw bytes and peer id)', async () => {
    const dir = await tempDir()
    const key = await generateKeyPair('Ed25519')
    await writeIdentity(dir, key)
    const read = await readIdentity(dir)
    expect(read.type).toBe('Ed25519')
    expect(Buffer.from(read.raw).equals(Buffer.from(key.raw))).toBe(true)
    expect(read.equals(key)).toBe(true)
    expect(peerIdFromPrivateKey(read).toString()).toBe(peerIdFromPrivateKey(key).toString())
    // libp2p's own key functions agree with what is in the file
    expect(Buffer.from(privateKeyToProtobuf(read)).equals(Buffer.from(privateKeyToProtobuf(key)))).toBe(true)
  })

  it('writes the go-libp2p layout: LE CRC-64 of the rest, then {"Key","ID"}', async () => {
    const dir = await tempDir()
    const key = await generateKeyPair('Ed25519')
    await writeIdentity(dir, key)
    const bytes = await fs.readFile(path.join(dir, KEY_FILE_NAME))
    const body = bytes.subarray(8)
    expect(bytes.readBigUInt64LE(0)).toBe(crc64Iso(body))
    const text = body.toString('utf8')
    const json = JSON.parse(text) as Record<string, unknown>
    expect(Object.keys(json)).toEqual(['Key', 'ID'])
    const peerId = peerIdFromPrivateKey(key).toString()
    expect(json.ID).toBe(peerId)
    expect(peerId).toMatch(/^12D3KooW/)
    // Go's json.Marshal: no spaces, standard padded base64
    const keyBase64 = Buffer.from(privateKeyToProtobuf(key)).toString('base64')
    expect(text).toBe(`{"Key":"${keyBase64}","ID":"${peerId}"}`)
    const fromFile = privateKeyFromProtobuf(Buffer.from(json.Key as string, 'base64'))
    expect(fromFile.equals(key)).toBe(true)
  })

  it('reads a hand-built file holding the spec test vector', async () => {
    const dir = await tempDir()
    const keyBase64 = Buffer.from(SPEC_KEY_HEX, 'hex').toString('base64')
    await writeRaw(dir, keyFileBytes(`{"Key":"${keyBase64}","ID":"${SPEC_PEER_ID}"}`))
    const key = await readIdentity(dir)
    expect(peerIdFromPrivateKey(key).toString()).toBe(SPEC_PEER_ID)
    expect(Buffer.from(privateKeyToProtobuf(key)).toString('hex')).toBe(SPEC_KEY_HEX)
  })

  it('writes the spec test vector byte for byte as Go would', async () => {
    const dir = await tempDir()
    await writeIdentity(dir, privateKeyFromProtobuf(Buffer.from(SPEC_KEY_HEX, 'hex')))
    const keyBase64 = Buffer.from(SPEC_KEY_HEX, 'hex').toString('base64')
    const expected = keyFileBytes(`{"Key":"${keyBase64}","ID":"${SPEC_PEER_ID}"}`)
    expect((await fs.readFile(path.join(dir, KEY_FILE_NAME))).equals(expected)).toBe(true)
  })

  it('reads what Go accepts: field names in any case, no ID field', async () => {
    const keyBase64 = Buffer.from(SPEC_KEY_HEX, 'hex').toString('base64')
    for (const json of [`{"key":"${keyBase64}","id":"${SPEC_PEER_ID}"}`, `{"ID":"${SPEC_PEER_ID}", "Key": "${keyBase64}"}`, `{"Key":"${keyBase64}"}`]) {
      const dir = await tempDir()
      await writeRaw(dir, keyFileBytes(json))
      expect(peerIdFromPrivateKey(await readIdentity(dir)).toString(), json).toBe(SPEC_PEER_ID)
    }
  })

  it('creates a new file with mode 0600 and the directory when missing', async () => {
    const dir = path.join(await tempDir(), 'a', 'identity')
    await writeIdentity(dir, await generateKeyPair('Ed25519'))
    const stat = await fs.stat(path.join(dir, KEY_FILE_NAME))
    if (process.platform !== 'win32') expect(stat.mode & 0o777).toBe(0o600)
  })

  it('refuses to replace an existing file unless overwrite, and keeps its mode', async () => {
    const dir = await tempDir()
    const first = await generateKeyPair('Ed25519')
    const second = await generateKeyPair('Ed25519')
    await writeIdentity(dir, first)
    const file = path.join(dir, KEY_FILE_NAME)
    const before = await fs.readFile(file)

    const err = await expectIdentityError(writeIdentity(dir, second), 'already_exists', /already exists/)
    expect(err.code).toBe('already_exists')
    expect(err.path).toBe(file)
    expect((await fs.readFile(file)).equals(before)).toBe(true)

    await fs.chmod(file, 0o640)
    await writeIdentity(dir, second, { overwrite: true })
    expect((await readIdentity(dir)).equals(second)).toBe(true)
    if (process.platform !== 'win32') expect((await fs.stat(file)).mode & 0o777).toBe(0o640)
    expect(await fs.readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('leaves no temporary files behind, also when the write fails', async () => {
    const dir = await tempDir()
    await writeIdentity(dir, await generateKeyPair('Ed25519'))
    await writeIdentity(dir, await generateKeyPair('Ed25519'), { overwrite: true })
    await writeIdentity(dir, await generateKeyPair('Ed25519')).catch(() => undefined)
    expect(await fs.readdir(dir)).toEqual([KEY_FILE_NAME])

    // p2p.key is a directory: the rename fails, the temp file goes
    const other = await tempDir()
    await fs.mkdir(path.join(other, KEY_FILE_NAME, 'x'), { recursive: true })
    await expect(writeIdentity(other, await generateKeyPair('Ed25519'), { overwrite: true })).rejects.toThrow(IdentityError)
    expect(await fs.readdir(other)).toEqual([KEY_FILE_NAME])
  })

  it('keeps exactly one winner when writers race without overwrite', async () => {
    const dir = await tempDir()
    const keys = await Promise.all(Array.from({ length: 8 }, () => generateKeyPair('Ed25519')))
    const results = await Promise.allSettled(keys.map((key) => writeIdentity(dir, key)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as IdentityError).reason).toBe('already_exists')
    }
    const winner = keys[results.findIndex((r) => r.status === 'fulfilled')]!
    expect((await readIdentity(dir)).equals(winner)).toBe(true)
    expect(await fs.readdir(dir)).toEqual([KEY_FILE_NAME])
  })
})

describe('readIdentity errors', () => {
  async function validFile(): Promise<{ dir: string; file: string; bytes: Buffer }> {
    const dir = await tempDir()
    await writeIdentity(dir, await generateKeyPair('Ed25519'))
    const file = path.join(dir, KEY_FILE_NAME)
    return { dir, file, bytes: await fs.readFile(file) }
  }

  /** Reads a damaged file: the error names the file and the file is not touched. */
  async function expectDamaged(dir: string, bytes: Uint8Array, reason: IdentityErrorReason, text: RegExp): Promise<void> {
    const file = await writeRaw(dir, bytes)
    const err = await expectIdentityError(readIdentity(dir), reason, text)
    expect(err.path).toBe(file)
    expect(err.message).toContain(file)
    expect((await fs.readFile(file)).equals(Buffer.from(bytes))).toBe(true)
    // and loadOrCreateIdentity does not replace it either
    await expectIdentityError(loadOrCreateIdentity(dir), reason, text)
    expect((await fs.readFile(file)).equals(Buffer.from(bytes))).toBe(true)
    expect(await fs.readdir(dir)).toEqual([KEY_FILE_NAME])
  }

  it('a missing file is not_found', async () => {
    const dir = await tempDir()
    const err = await expectIdentityError(readIdentity(dir), 'not_found', /does not exist/)
    expect(err.code).toBe('not_found')
  })

  it('a truncated file', async () => {
    const { dir, bytes } = await validFile()
    await expectDamaged(dir, bytes.subarray(0, 5), 'too_short', /file is too short/)
    await expectDamaged(dir, new Uint8Array(), 'too_short', /file is too short/)
    // cut inside the JSON: the checksum no longer matches
    await expectDamaged(dir, bytes.subarray(0, bytes.length - 10), 'checksum_mismatch', /checksum mismatch/)
  })

  it('a flipped byte anywhere', async () => {
    const { dir, bytes } = await validFile()
    for (const at of [0, 7, 8, 20, bytes.length - 1]) {
      const damaged = Buffer.from(bytes)
      damaged[at]! ^= 0x01
      await expectDamaged(dir, damaged, 'checksum_mismatch', /checksum mismatch: [0-9a-f]+ != [0-9a-f]+/)
    }
  })

  it('bad JSON (with a correct checksum)', async () => {
    const dir = await tempDir()
    await expectDamaged(dir, keyFileBytes('{"Key":'), 'bad_json', /not JSON/)
    await expectDamaged(dir, keyFileBytes('[]'), 'bad_json', /not an object/)
    await expectDamaged(dir, keyFileBytes('{"ID":"x"}'), 'bad_json', /no Key/)
    await expectDamaged(dir, keyFileBytes('{"Key":42}'), 'bad_json', /Key field/)
    await expectDamaged(dir, keyFileBytes('{"Key":"not base64!"}'), 'bad_json', /base64/)
  })

  it('a Key that is not a private key', async () => {
    const dir = await tempDir()
    await expectDamaged(dir, keyFileBytes(`{"Key":"${Buffer.from('hello').toString('base64')}"}`), 'bad_key', /not a libp2p private key/)
    // Ed25519 seed paired with a foreign public key
    const spec = Buffer.from(SPEC_KEY_HEX, 'hex')
    spec[spec.length - 1]! ^= 0x01
    await expectDamaged(dir, keyFileBytes(`{"Key":"${spec.toString('base64')}"}`), 'bad_key', /public half/)
  })

  it('an ID that is not the key’s peer id', async () => {
    const dir = await tempDir()
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const keyBase64 = Buffer.from(SPEC_KEY_HEX, 'hex').toString('base64')
    await expectDamaged(dir, keyFileBytes(`{"Key":"${keyBase64}","ID":"${other}"}`), 'id_mismatch', new RegExp(`${other}.*${SPEC_PEER_ID}`))
    await expectDamaged(dir, keyFileBytes(`{"Key":"${keyBase64}","ID":"garbage"}`), 'id_mismatch', /edited/)
  })
})

describe('loadOrCreateIdentity', () => {
  it('creates the directory and key once, then reloads the same identity', async () => {
    const dir = path.join(await tempDir(), 'identity')
    const first = recordingLogger()
    const created = await loadOrCreateIdentity(dir, first.log)
    expect(created.created).toBe(true)
    const peerId = peerIdFromPrivateKey(created.key).toString()
    expect(first.lines().some((l) => l.peerId === peerId && /created/.test(String(l.msg)))).toBe(true)

    const second = recordingLogger()
    const loaded = await loadOrCreateIdentity(dir, second.log)
    expect(loaded.created).toBe(false)
    expect(loaded.key.equals(created.key)).toBe(true)
    expect(peerIdFromPrivateKey(loaded.key).toString()).toBe(peerId)
    expect(second.lines().some((l) => l.peerId === peerId && /loaded/.test(String(l.msg)))).toBe(true)
    expect(await fs.readdir(dir)).toEqual([KEY_FILE_NAME])
  })

  it('gives an ephemeral key when no directory is configured', async () => {
    const rec = recordingLogger()
    const a = await loadOrCreateIdentity(undefined, rec.log)
    const b = await loadOrCreateIdentity('', rec.log)
    expect(a.created).toBe(true)
    expect(a.key.type).toBe('Ed25519')
    expect(a.key.equals(b.key)).toBe(false)
    expect(rec.lines().filter((l) => /ephemeral/.test(String(l.msg)))).toHaveLength(2)
  })

  it('concurrent first starts agree on one key', async () => {
    const dir = await tempDir()
    const results = await Promise.all(Array.from({ length: 4 }, () => loadOrCreateIdentity(dir)))
    const ids = new Set(results.map((r) => peerIdFromPrivateKey(r.key).toString()))
    expect(ids.size).toBe(1)
    expect(results.filter((r) => r.created)).toHaveLength(1)
  })

  it('does not create a key when the directory is unusable', async () => {
    const parent = await tempDir()
    const notADir = path.join(parent, 'file')
    await fs.writeFile(notADir, 'x')
    await expectIdentityError(loadOrCreateIdentity(notADir), 'io', /not a directory/)
    expect(await fs.readFile(notADir, 'utf8')).toBe('x')
  })
})
