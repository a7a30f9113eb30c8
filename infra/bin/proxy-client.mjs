#!/usr/bin/env node
// `npx proxy-client …` / the package bin: runs the TypeScript proxy client through tsx's loader.
import { register } from 'tsx/esm/api'

register()
await import('../../proxy/cli/proxy-client.ts')
