import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { allocatorEnv, JEMALLOC_CONF, JEMALLOC_PATHS } from '../launcher/allocator.js'

const only = (path: string) => (candidate: string) => candidate === path

describe('allocatorEnv', () => {
  it('preloads the first jemalloc found, with its background purging', () => {
    expect(allocatorEnv({}, only(JEMALLOC_PATHS[1]))).toEqual({ LD_PRELOAD: JEMALLOC_PATHS[1], MALLOC_CONF: JEMALLOC_CONF })
    expect(allocatorEnv({}, () => true).LD_PRELOAD).toBe(JEMALLOC_PATHS[0])
  })

  it('leaves the environment alone when LD_PRELOAD is set (empty keeps glibc) or no jemalloc is installed', () => {
    expect(allocatorEnv({ LD_PRELOAD: '' }, () => true)).toEqual({})
    expect(allocatorEnv({ LD_PRELOAD: '/opt/other.so' }, () => true)).toEqual({})
    expect(allocatorEnv({}, () => false)).toEqual({})
  })

  it("keeps the user's MALLOC_CONF", () => {
    expect(allocatorEnv({ MALLOC_CONF: 'narenas:2' }, () => true).MALLOC_CONF).toBe('narenas:2')
  })
})

describe('infra/Dockerfile', () => {
  it('runs every service on the jemalloc the launcher would pick, linked where allocatorEnv looks first', () => {
    const runtime = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8').split(/^FROM \S+ AS runtime$/m)[1]!.split(/^FROM /m)[0]!
    expect(runtime).toMatch(/apt-get install -y --no-install-recommends libjemalloc2/)
    expect(runtime).toContain(`ln -s "$(dpkg -L libjemalloc2 | grep '/libjemalloc\\.so\\.2$')" ${JEMALLOC_PATHS[0]}`)
    expect(runtime).toMatch(new RegExp(`^ENV LD_PRELOAD=${JEMALLOC_PATHS[0]} MALLOC_CONF=${JEMALLOC_CONF}$`, 'm'))
  })
})
