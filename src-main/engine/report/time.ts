/**
 * Returns epoch microseconds for an ISO-8601 UTC time as the Incident writes it
 * ("2011-03-07T03:00:05.123456Z", any number of fraction digits), or NaN when
 * the text is not such a time. Date.parse alone would drop everything past the
 * millisecond.
 */
export function isoToUs(iso: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(iso)
  if (!m) return NaN
  const ms = Date.parse(m[1] + m[3])
  if (Number.isNaN(ms)) return NaN
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6)
  return ms * 1000 + Number(frac)
}

/** Returns the ISO-8601 UTC text, with microseconds, of epoch microseconds. */
export function usToIso(us: number): string {
  const whole = Math.floor(us / 1e6)
  const micros = Math.round(us - whole * 1e6)
  const base = new Date(whole * 1000).toISOString().slice(0, 19)
  return `${base}.${String(micros).padStart(6, '0')}Z`
}

/** Returns the smallest and largest of some numbers (a loop: spreading 100,000 arguments overflows the stack). */
export function extent(values: number[]): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const v of values) {
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return [lo, hi]
}
