#!/usr/bin/env node
// `npx p2p-client …` / the package bin: runs the TypeScript p2p client through tsx's loader.
import { register } from 'tsx/esm/api'

register()
await import('../../node/cli/p2p-client.ts')
