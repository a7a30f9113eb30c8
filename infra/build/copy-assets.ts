/**
 * `npm run build` compiles TypeScript into dist/; the files the code reads at
 * run time beside itself (Lua scripts, the live view's page, the protos and
 * package.json one level up) are copied next to the output here, so
 * `node dist/node/main.js` and `node dist/proxy/main.js` run like the sources.
 * The codec's WebAssembly kernel stays in build/, where the compiled loader
 * also looks.
 */
import { cpSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const dist = path.join(root, 'dist')

/** Folders whose every file is read at run time. */
const ASSET_DIRS = ['proxy/store/scripts', 'proxy/auth/scripts', 'proxy/tracer/scripts', 'proxy/ui/page']

let copied = 0
const copy = (from: string): void => {
  cpSync(path.join(root, from), path.join(dist, from), { recursive: true })
  copied += statSync(path.join(root, from)).isDirectory() ? readdirSync(path.join(root, from)).length : 1
}
for (const dir of ASSET_DIRS) copy(dir)
copy('proto')
copy('package.json')
console.log(`build: copied ${copied} run-time files into dist/`)
