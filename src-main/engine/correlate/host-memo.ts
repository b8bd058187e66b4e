import type { HostEvidence } from './evidence'

/**
 * Returns `build` memoised per host: what a host's evidence gives, computed once and again only
 * when what it comes from has changed (`basis`: the size of its logs or snapshots, which only
 * grow; its `ip addr` snapshot). Correlation asks the same question of a host for every flow and
 * every log line; each answer is one pass.
 */
export function perHost<T>(
  basis: (h: HostEvidence) => unknown,
  build: (h: HostEvidence) => T
): (h: HostEvidence) => T {
  const cache = new WeakMap<HostEvidence, { basis: unknown; value: T }>()
  return (h) => {
    const now = basis(h)
    const known = cache.get(h)
    if (known && known.basis === now) return known.value
    const value = build(h)
    cache.set(h, { basis: now, value })
    return value
  }
}
