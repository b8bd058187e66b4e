/**
 * Returns `fn` remembering its results by argument, for pure functions of short strings that
 * are asked the same thing over and over (the same addresses, flow after flow). The cache is
 * emptied when it holds `max` entries, so memory stays bounded whatever the input. Results are
 * shared between callers: they must not be changed.
 */
export function memoByText<T>(fn: (text: string) => T, max = 8192): (text: string) => T {
  const cache = new Map<string, T>()
  return (text) => {
    const hit = cache.get(text)
    if (hit !== undefined || cache.has(text)) return hit as T
    if (cache.size >= max) cache.clear()
    const value = fn(text)
    cache.set(text, value)
    return value
  }
}
