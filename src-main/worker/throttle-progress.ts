import type { Progress } from '../shared/api'

/** Returns a progress listener that passes on at most one report per file every `intervalMs`, and always the last. */
export function throttleProgress(
  listener: (p: Progress) => void,
  intervalMs = 50
): (p: Progress) => void {
  const last = new Map<string, number>()
  return (p) => {
    const now = Date.now()
    const done = p.totalBytes !== undefined && p.bytesRead >= p.totalBytes
    if (!done && now - (last.get(p.path) ?? -Infinity) < intervalMs) return
    last.set(p.path, now)
    listener(p)
  }
}
