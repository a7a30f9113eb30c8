import '../../common/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { boolFlag, FlagError, FlagHelp, formatUsage, parseFlags, stringFlag } from '../../common/cli/go-flags.js'
import {
  isIdentityError,
  keyFilePath,
  peerIdOf,
  readIdentity,
  writeIdentity,
  type IdentityErrorReason,
} from '../../common/identity/key-file.js'

/**
 * keygen: makes a node identity (Ed25519) and writes it to `<dir>/p2p.key`
 * in the go-libp2p layout (common/identity/key-file.ts).
 *
 *   npm run keygen [-- --dir ./identity] [--force]
 *   infra/scripts/generate_p2p_key.sh [--dir ./identity] [--force]
 *
 * On success (exit 0) stdout is exactly:
 *   Peer ID: 12D3KooW…
 *   Put this line in .env: BOOTSTRAP_PEER_ID=12D3KooW…
 * and stderr says which file was written. An existing p2p.key is only
 * replaced with --force; without it: one line on stderr, exit 1. A bad
 * command line: message and usage on stderr, exit 2 (like Go's flag package).
 */

const PROGRAM = 'keygen'

const FLAGS = {
  dir: stringFlag('./identity', 'directory to write p2p.key into (created when missing)'),
  force: boolFlag(false, 'replace an existing p2p.key (the node gets a new peer id)'),
}

const DESCRIPTION = `${PROGRAM}: generates a node identity (Ed25519 key) and writes it to <dir>/p2p.key,
then prints its peer id and the BOOTSTRAP_PEER_ID line for .env.

`

const REASON_TEXT: Record<IdentityErrorReason, string> = {
  not_found: 'it is missing',
  already_exists: 'it exists',
  too_short: 'it is damaged: file is too short',
  checksum_mismatch: 'it is damaged: checksum mismatch',
  bad_json: 'it is damaged: bad JSON',
  bad_key: 'it is damaged: bad key',
  id_mismatch: 'its ID does not match its key',
  io: 'it cannot be read',
}

function fail(message: string): void {
  process.stderr.write(`${PROGRAM}: ${message}\n`)
  process.exitCode = 1
}

/** "(peer id 12D3KooW…)" for a readable file, else why it is not. */
async function describeExisting(dir: string): Promise<string> {
  try {
    return `peer id ${peerIdOf(await readIdentity(dir))}`
  } catch (err) {
    return isIdentityError(err) ? REASON_TEXT[err.reason] : 'it cannot be read'
  }
}

async function main(argv: readonly string[]): Promise<void> {
  let dir: string
  let force: boolean
  try {
    const parsed = parseFlags(FLAGS, argv, PROGRAM)
    if (parsed.args.length > 0) {
      throw new FlagError(`unexpected argument: ${parsed.args[0]}`, formatUsage(FLAGS, PROGRAM))
    }
    dir = parsed.values.dir
    force = parsed.values.force
  } catch (err) {
    if (err instanceof FlagHelp) {
      process.stdout.write(DESCRIPTION + err.usage)
      return
    }
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\n${err.usage}`)
      process.exitCode = 2
      return
    }
    throw err
  }
  if (dir === '') {
    process.stderr.write('-dir must not be empty\n')
    process.exitCode = 2
    return
  }

  const file = keyFilePath(dir)
  const refusal = async () => `${file} already exists (${await describeExisting(dir)}); pass --force to replace it`

  let previous: string | undefined
  if (force) {
    previous = await describeExisting(dir).catch(() => undefined)
  }

  const key = await generateKeyPair('Ed25519')
  try {
    await writeIdentity(dir, key, { overwrite: force })
  } catch (err) {
    if (isIdentityError(err, 'already_exists')) return fail(await refusal())
    return fail(err instanceof Error ? err.message : String(err))
  }

  const id = peerIdOf(key)
  const replaced = previous !== undefined && previous !== REASON_TEXT.not_found
  process.stderr.write(replaced ? `Replaced ${file} (was: ${previous})\n` : `Wrote ${file}\n`)
  process.stdout.write(`Peer ID: ${id}\nPut this line in .env: BOOTSTRAP_PEER_ID=${id}\n`)
}

try {
  await main(process.argv.slice(2))
} catch (err) {
  fail(err instanceof Error ? err.message : String(err))
}
