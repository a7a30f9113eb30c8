import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['common/test/**/*.test.ts', 'node/test/**/*.test.ts', 'proxy/test/**/*.test.ts', 'sim/test/**/*.test.ts', 'infra/test/**/*.test.ts'],
    setupFiles: ['common/polyfill.ts'],
    // libp2p nodes, gRPC servers and sockets are per-process resources: forks isolate them.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
  },
})
