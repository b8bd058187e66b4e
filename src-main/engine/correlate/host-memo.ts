import type { HostEvidence } from './evidence'

/**
 * Returns `build` memoised per host: what a host's evidence gives, computed once and again only
 * when the list it comes from (`size`: its logs, its snapshots) has grown. Correlation asks the
 * same question of a host for every flow and every log line; each answer is one pass.
 */
export function perHost<T>(
  size: (h: HostEvidence) => number,
  build: (h: HostEvidence) => T
): (h: HostEvidence) => T {
  const cache = new WeakMap<HostEvidence, { size: number; value: T }>()
  return (h) => {
    const n = size(h)
    const known = cache.get(h)
    if (known && known.size === n) return known.value
    const value = build(h)
    cache.set(h, { size: n, value })
    return value
  }
}
