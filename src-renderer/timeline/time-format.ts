import { utcFormat } from 'd3'

const day = utcFormat('%Y-%m-%d %H:%M')
const minute = utcFormat('%H:%M:%S')
const second = utcFormat('%H:%M:%S')

/** Returns a tick label for epoch µs, as precise as the visible span needs (down to µs). */
export function formatTick(us: number, spanUs: number): string {
  const date = new Date(Math.floor(us / 1000))
  if (spanUs > 2 * 86400e6) return day(date)
  if (spanUs > 60e6) return minute(date)
  const frac = String(Math.round(((us % 1e6) + 1e6) % 1e6)).padStart(6, '0')
  if (spanUs > 2e6) return `${second(date)}.${frac.slice(0, 3)}`
  return `${second(date).slice(6)}.${frac}`
}

/** Returns epoch µs as ISO-8601 UTC with microseconds. */
export function formatUs(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)
  return `${iso}.${String(Math.round(((us % 1e6) + 1e6) % 1e6)).padStart(6, '0')}Z`
}
