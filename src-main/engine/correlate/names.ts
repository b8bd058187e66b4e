/** Returns the last component of a path, either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '')
  return parts.at(-1) ?? path
}
