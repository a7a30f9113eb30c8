/** `npm run compose`: writes the compose files rendered by topology.ts into the repository root. */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { COMPOSE_FILES, renderCompose, type Variant } from './topology.js'

for (const [variant, file] of Object.entries(COMPOSE_FILES) as [Variant, string][]) {
  writeFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), renderCompose(variant))
  process.stdout.write(`wrote ${file}\n`)
}
