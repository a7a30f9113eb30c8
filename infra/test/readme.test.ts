/** The top-level README stands alone: its variable table is the generated one, and what it names exists. */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { renderEnvTable } from '../../common/config/index.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts

describe('README.md', () => {
  it('holds the variable table made from ENV_VARS', () => {
    // After adding a variable: node --import tsx -e "import('./common/config/docs.ts').then((m) => process.stdout.write(m.renderEnvTable()))"
    expect(readme).toContain(renderEnvTable())
  })

  it('points at nothing outside the repository', () => {
    expect(readme).not.toMatch(/\.\.\/shared|\/work\//)
    for (const [, target] of readme.matchAll(/\]\(([^)#]+)\)/g)) {
      if (/^https?:/.test(target!)) continue
      expect(existsSync(path.join(ROOT, target!)), target).toBe(true)
    }
  })

  it('names only npm scripts that exist', () => {
    for (const [, name] of readme.matchAll(/npm run (?:--silent )?([\w:-]+)/g)) expect(scripts, `npm run ${name}`).toHaveProperty(name!)
    for (const [, name] of readme.matchAll(/`(bench:\w+)`/g)) expect(scripts).toHaveProperty(name!)
  })
})
