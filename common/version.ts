import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface VersionInfo {
  version: string
  commit_hash: string
}

const packageJson = new URL('../package.json', import.meta.url)

/**
 * The commit comes from COMMIT_HASH when the image build sets it (a container has
 * no .git), else from git in the source tree, else it is empty.
 */
function readCommit(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.COMMIT_HASH?.trim()
  if (fromEnv) return fromEnv
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: new URL('..', import.meta.url),
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    })
      .toString()
      .trim()
  } catch {
    return ''
  }
}

/** Read once at start-up by a part's main and passed down. */
export function readVersionInfo(env: NodeJS.ProcessEnv = process.env): VersionInfo {
  return {
    version: (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version,
    commit_hash: readCommit(env),
  }
}
