import type { SimRandom } from './random.js'

/**
 * Random connections, as nodes that each dial a few known peers make them:
 * every node dials `dials` distinct others chosen uniformly (the mesh itself
 * then forms through each protocol's own GRAFT/PRUNE logic). Returns the
 * distinct pairs in dial order.
 */
export function randomConnections(random: SimRandom, keys: readonly string[], dials: number): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  const seen = new Set<string>()
  for (const key of keys) {
    for (const peer of dialTargets(random, keys, key, dials)) {
      const id = key < peer ? `${key}|${peer}` : `${peer}|${key}`
      if (seen.has(id)) continue
      seen.add(id)
      pairs.push([key, peer])
    }
  }
  return pairs
}

/** Up to `dials` distinct peers other than `self`, drawn from `keys`. */
export function dialTargets(random: SimRandom, keys: readonly string[], self: string, dials: number): string[] {
  const wanted = Math.min(dials, keys.length - 1)
  const chosen = new Set<string>()
  while (chosen.size < wanted) {
    const peer = keys[random.int(keys.length)]
    if (peer !== self) chosen.add(peer)
  }
  return [...chosen]
}
