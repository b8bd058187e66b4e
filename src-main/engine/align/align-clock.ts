/**
 * Clock alignment: turns a log's times into capture time. dmesg counts
 * seconds since boot, syslog writes local wall time without year or zone,
 * captures carry UTC. Where a packet was both logged and captured, the
 * offset is measured from those packets; otherwise the given hints are
 * used, or the log's own absolute times, or UTC is assumed and said so.
 */

import type { ClockAlignment } from '../../shared/incident'
import type { LogEvent, LogTime } from '../logs/log-event'

/** Options the user may give: boot time for dmesg seconds, year and zone for syslog. */
export interface ClockHints {
  /** ISO time of boot (dmesg's zero). */
  bootTime?: string
  year?: number
  /** Minutes east of UTC of the log's wall clock. */
  utcOffsetMin?: number
  /**
   * When the analysis runs (epoch seconds; default: now). A wall clock without a year, none
   * given and no capture to take it from, is read as the last time each month came by then.
   */
  today?: number
}

/** A log's alignment and the function that applies it. */
export interface Aligned {
  alignment: ClockAlignment
  /** Capture time (epoch seconds) of an event, or undefined when it cannot be placed. */
  timeOf(t: LogTime): number | undefined
}

/** Which clock a log's lines use; one log file uses one. */
type Base = 'boot' | 'wall' | 'absolute'

/**
 * Returns a log's alignment. `sightings(e)` gives the capture times (epoch
 * seconds) of the captured packets that match a logged packet (same
 * addresses, ports, IP ID, length); `captureTime` (epoch seconds) is when the captures
 * were taken in (for wall clocks without one).
 */
export function alignClock(
  file: string,
  events: LogEvent[],
  sightings: (e: LogEvent) => number[],
  hints: ClockHints,
  captureTime?: number
): Aligned {
  const base = baseOf(events)
  // With no year given nor captures to take it from, a log's lines lie in the year before today.
  const today = hints.today ?? Date.now() / 1000
  const year = hints.year ?? new Date((captureTime ?? today) * 1000).getUTCFullYear()
  const yearAssumed =
    hints.year === undefined &&
    captureTime === undefined &&
    events.some((e) => e.time.wall !== undefined && e.time.wall.year === undefined)
  // A log without years read beside captures from early January: its December lines are last year's.
  const yearOf = (month: number): number =>
    hints.year ??
    (captureTime !== undefined ? yearNear(month, captureTime) : yearUpTo(month, today))
  const raw = (t: LogTime): number | undefined =>
    rawSeconds(t, base, t.wall ? yearOf(t.wall.month) : year)
  const offsets: number[] = []
  let matched = 0
  for (const e of events) {
    const r = raw(e.time)
    if (r === undefined || !e.packet) continue
    const seen = sightings(e)
    if (seen.length > 0) matched++
    for (const t of seen) offsets.push(t - r)
  }
  const coarse = events.every(
    (e) =>
      (e.time.wall?.micros ?? 0) === 0 && e.time.bootSec === undefined && e.time.utcUs === undefined
  )
  const learnt = densest(offsets, coarse ? 1.5 : 0.05)
  if (learnt && learnt.count >= 1) {
    const offset = learnt.median
    return {
      alignment: {
        file,
        method: 'learnt',
        offsetSec: round6(offset),
        matches: learnt.count,
        spreadSec: round6(learnt.spread),
        text: `learnt from ${learnt.count} capture time${learnt.count === 1 ? '' : 's'} of the ${matched} logged packet${matched === 1 ? '' : 's'} also captured (each point that captured one counts): ${describeOffset(base, offset)}, spread ${formatSec(learnt.spread)}`
      },
      timeOf: (t) => {
        const r = raw(t)
        return r === undefined ? undefined : r + offset
      }
    }
  }
  if (base === 'boot') {
    const boot = hints.bootTime !== undefined ? Date.parse(hints.bootTime) / 1000 : NaN
    if (Number.isFinite(boot))
      return {
        alignment: {
          file,
          method: 'given',
          offsetSec: boot,
          text: `dmesg seconds since boot, boot time given as ${hints.bootTime}`
        },
        timeOf: (t) => (t.bootSec === undefined ? undefined : t.bootSec + boot)
      }
    return {
      alignment: {
        file,
        method: 'none',
        text: 'dmesg seconds since boot, and no boot time given nor any logged packet found in a capture: lines are matched to flows by addresses and ports only'
      },
      timeOf: () => undefined
    }
  }
  if (base === 'wall') {
    const given = hints.utcOffsetMin
    // Without a year from anywhere, which year is read is said with it.
    const lastYear =
      "each month's last before this analysis; no year given nor a capture to take it from"
    const shift = -(given ?? 0) * 60
    return {
      alignment: {
        file,
        method: given === undefined ? 'assumed' : 'given',
        offsetSec: shift,
        text:
          given === undefined
            ? yearAssumed
              ? `wall clock without a zone or year, taken as UTC in ${year} (${lastYear}, nor to learn the offset from)`
              : `wall clock without a zone, taken as UTC in ${year} (no logged packet found in a capture to learn the offset)`
            : `wall clock at UTC${formatZone(given)} in ${year}, as given${yearAssumed ? ` (the year: ${lastYear})` : ''}`
      },
      timeOf: (t) => {
        const r = raw(t)
        return r === undefined ? undefined : r + shift
      }
    }
  }
  return {
    alignment: { file, method: 'absolute', offsetSec: 0, text: 'the log carries UTC times' },
    timeOf: raw
  }
}

/** Returns the year that puts a month nearest to a time (December beside January is last year). */
export function yearNear(month: number, time: number): number {
  const d = new Date(time * 1000)
  const y = d.getUTCFullYear()
  const diff = month - (d.getUTCMonth() + 1)
  return diff > 6 ? y - 1 : diff < -6 ? y + 1 : y
}

/** Returns the year a month last came in by a time (a log read later is not from the future). */
export function yearUpTo(month: number, time: number): number {
  const d = new Date(time * 1000)
  const y = d.getUTCFullYear()
  return month > d.getUTCMonth() + 1 ? y - 1 : y
}

/** Returns the clock a log's events use: the first event that says decides. */
function baseOf(events: LogEvent[]): Base {
  for (const e of events) {
    if (e.time.utcUs !== undefined) return 'absolute'
    if (e.time.wall?.offsetMin !== undefined) return 'absolute'
    if (e.time.wall) return 'wall'
    if (e.time.bootSec !== undefined) return 'boot'
  }
  return 'absolute'
}

/**
 * Returns a log time as seconds on the log's own clock: boot seconds,
 * a wall clock read as if UTC, or epoch seconds for absolute times.
 */
export function rawSeconds(t: LogTime, base: Base, year?: number): number | undefined {
  if (base === 'boot') return t.bootSec
  if (t.utcUs !== undefined) return t.utcUs / 1e6
  const w = t.wall
  if (!w) return undefined
  const y = w.year ?? year
  if (y === undefined) return undefined
  const ms = Date.UTC(y, w.month - 1, w.day, w.hour, w.minute, w.second)
  const local = ms / 1000 + w.micros / 1e6
  return base === 'absolute' && w.offsetMin !== undefined ? local - w.offsetMin * 60 : local
}

/** Returns the tightest cluster of values within `width`, the largest first; its median and spread. */
export function densest(
  values: number[],
  width: number
): { median: number; count: number; spread: number } | undefined {
  if (values.length === 0) return undefined
  const v = [...values].sort((a, b) => a - b)
  let best = { from: 0, to: 0 }
  let j = 0
  for (let i = 0; i < v.length; i++) {
    while (v[i] - v[j] > width) j++
    const better =
      i - j > best.to - best.from ||
      (i - j === best.to - best.from && v[i] - v[j] < v[best.to] - v[best.from])
    if (better) best = { from: j, to: i }
  }
  const cluster = v.slice(best.from, best.to + 1)
  const mid = cluster.length >> 1
  const median = cluster.length % 2 === 1 ? cluster[mid] : (cluster[mid - 1] + cluster[mid]) / 2
  return { median, count: cluster.length, spread: cluster.at(-1)! - cluster[0] }
}

function describeOffset(base: Base, offset: number): string {
  if (base === 'boot') return `boot time ${new Date(offset * 1000).toISOString()}`
  if (base === 'wall') {
    const zoneMin = Math.round(-offset / 60)
    const residual = offset + zoneMin * 60
    return `log clock at UTC${formatZone(zoneMin)}${Math.abs(residual) >= 0.0005 ? `, and ${formatSec(-residual)} off` : ''}`
  }
  return `log clock ${formatSec(-offset)} off UTC`
}

function formatZone(min: number): string {
  const sign = min < 0 ? '-' : '+'
  const a = Math.abs(min)
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`
}

function formatSec(s: number): string {
  const a = Math.abs(s)
  if (a < 1e-3) return `${(s * 1e6).toFixed(0)} µs`
  if (a < 1) return `${(s * 1e3).toFixed(3)} ms`
  return `${s.toFixed(6)} s`
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6
}
