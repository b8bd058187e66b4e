/** Returns the last component of a path, either separator. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '')
  return parts.at(-1) ?? path
}

/** A rule as prose quotes it: without the `[packets:bytes]` counters `iptables-save -c` writes. */
export function withoutCounters(rule: string): string
export function withoutCounters(rule: string | undefined): string | undefined
export function withoutCounters(rule: string | undefined): string | undefined {
  return rule?.replace(/^\[\d+:\d+\]\s*/, '')
}
