import { readFileSync, writeFileSync } from 'node:fs'

/** How many recent incidents the File menu lists. */
export const RECENT_LIMIT = 10

/** Returns the recent list stored at `file` (most recent first); an unreadable file is an empty list. */
export function readRecent(file: string): string[][] {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'))
    if (!Array.isArray(v)) return []
    return v.filter(
      (e): e is string[] =>
        Array.isArray(e) && e.length > 0 && e.every((p) => typeof p === 'string')
    )
  } catch {
    return []
  }
}

/** Returns the list with `paths` moved to the front, and stores it at `file`. */
export function addRecent(file: string, paths: string[]): string[][] {
  const key = JSON.stringify(paths)
  const list = [paths, ...readRecent(file).filter((e) => JSON.stringify(e) !== key)].slice(
    0,
    RECENT_LIMIT
  )
  try {
    writeFileSync(file, JSON.stringify(list))
  } catch {
    // The list is a convenience: failing to store it must not stop the opening.
  }
  return list
}
