import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { readVersionInfo } from '../version.js'

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

describe('readVersionInfo', () => {
  it('takes the commit from COMMIT_HASH when the image build set it', () => {
    expect(readVersionInfo({ COMMIT_HASH: ' 6d3d086 ' })).toEqual({ version: packageVersion, commit_hash: '6d3d086' })
  })

  it('falls back to git in a checkout', () => {
    expect(readVersionInfo({}).commit_hash).toMatch(/^[0-9a-f]{7,}$/)
  })
})
