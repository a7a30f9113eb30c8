import { existsSync } from 'node:fs'
import type { Env } from '../../common/config/index.js'

/**
 * Where libjemalloc2 installs jemalloc: the Docker image's link first, then
 * Debian's and Ubuntu's per-architecture paths.
 */
export const JEMALLOC_PATHS = [
  '/usr/local/lib/libjemalloc.so.2',
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
] as const

/**
 * jemalloc, with a background thread that returns freed pages to the
 * system within seconds even while the process is idle.
 */
export const JEMALLOC_CONF = 'background_thread:true'

/**
 * What a node or proxy process needs in its environment to run on jemalloc:
 * LD_PRELOAD of the first library found and its MALLOC_CONF; nothing when
 * none is installed or when `env` already has LD_PRELOAD (even empty, which
 * is how to keep glibc's malloc).
 *
 * Why: Buffers and Uint8Arrays live in malloc'd memory, and under load a
 * node holds tens of MiB of them at once (queued frames, deliveries). glibc's
 * malloc gives the main arena back only from its top, which a few live
 * chunks pin, so its RSS is the highest backlog the process ever had and
 * creeps up with every busier moment; jemalloc purges freed pages, so RSS
 * follows what is live (README, Benchmarks: the soak's numbers).
 */
export function allocatorEnv(env: Env, exists: (path: string) => boolean = existsSync): Record<string, string> {
  if (env.LD_PRELOAD !== undefined) return {}
  const library = JEMALLOC_PATHS.find((path) => exists(path))
  if (library === undefined) return {}
  return { LD_PRELOAD: library, MALLOC_CONF: env.MALLOC_CONF ?? JEMALLOC_CONF }
}
