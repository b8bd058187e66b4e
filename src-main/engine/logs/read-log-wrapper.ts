/**
 * The wrapper around a log message: the time stamp (dmesg, dmesg -T, classic syslog, ISO syslog,
 * RFC 5424, journalctl's short, short-iso and short-precise), the host and the syslog tag. Times
 * are kept as written; no year or zone is guessed.
 */

import type { LogTime } from './log-event'

/** A line with its wrapper taken off. */
export interface Unwrapped {
  /** dmesg, dmesg-T, syslog, syslog-iso, rfc5424, journal-short-iso, journal-short-precise, local-iso, audit, journal-json, or none. */
  wrapper: string
  time: LogTime
  host?: string
  /** The syslog tag without its pid: kernel, sshd, fail2ban.actions ... */
  tag?: string
  /** The text after the wrapper and the host (the tag included). */
  body: string
  /** The text after the tag (after `kernel:` and its `[ 12.345]` boot stamp for kernel lines). */
  message: string
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = `(${MONTHS.join('|')})`
const PRI = /^<(\d{1,3})>/
const RFC5424 =
  /^1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\"]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: (.*))?$/
const DMESG = /^\[\s*(\d+)\.(\d{1,9})\]\s?(.*)$/
const DMESG_T = new RegExp(
  `^\\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} +(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d) (\\d{4})\\]\\s?(.*)$`
)
const ISO =
  /^(\d{4})-(\d\d)-(\d\d)([T ])(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?\s+(.*)$/
const SYSLOG = new RegExp(
  `^${MONTH} +(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d)(?:\\.(\\d{1,9}))?\\s+(.*)$`
)
const AUDIT = /^type=\S+ msg=audit\((\d+)\.(\d{1,9}):\d+\):\s?(.*)$/
const HOST_TAG = /^(\S+)\s+([a-z]+\.[a-z]+\s+)?([^\s[\]:=]+)\s*(?:\[(\d+)\])?:(?:\s|$)/
const TAG = /^([^\s[\]:=]+)\s*(?:\[(\d+)\])?:(?:\s|$)/
const BOOT_STAMP = /^\[\s*(\d+)\.(\d{1,9})\]\s?/

/** Returns the line's wrapper, time, host, tag and message; `wrapper: 'none'` when none is known. */
export function unwrapLine(line: string): Unwrapped {
  const pri = PRI.exec(line)
  const rest = pri ? line.slice(pri[0].length) : line
  return (
    (pri ? rfc5424(rest) : undefined) ??
    dmesg(rest) ??
    dmesgT(rest) ??
    iso(rest) ??
    syslog(rest) ??
    audit(rest) ??
    withHeader('none', {}, rest, false)
  )
}

/** Returns the time fields of an ISO 8601 / RFC 3339 stamp, undefined if it is not one. */
export function readIsoTime(text: string): LogTime | undefined {
  const m = ISO.exec(`${text} `)
  return m ? isoTime(m) : undefined
}

/** Splits host and tag off a body; the kernel's boot stamp after `kernel:` goes into `time`. */
export function withHeader(
  wrapper: string,
  time: LogTime,
  body: string,
  hostFirst: boolean
): Unwrapped {
  const ht = HOST_TAG.exec(body)
  const hostOk = ht && !ht[1].endsWith(':') && !ht[1].includes('=') && !ht[1].startsWith('[')
  // Without a time stamp a host is believed only before a tag that is plainly one (kernel, or with a pid).
  if (ht && hostOk && (hostFirst || ht[3] === 'kernel' || ht[4] !== undefined)) {
    const after = body.slice(ht[1].length).trimStart()
    return tagged(wrapper, time, ht[2] ? after.slice(ht[2].length) : after, ht[1])
  }
  if (hostFirst) {
    const first = /^(\S+)\s+/.exec(body)
    if (first && /^[\w][\w.:-]*$/.test(first[1]) && !first[1].endsWith(':')) {
      const after = body.slice(first[0].length)
      const t = TAG.exec(after)
      if (t) return tagged(wrapper, time, after, first[1])
      return { wrapper, time, host: first[1], body: after, message: after }
    }
  }
  if (TAG.exec(body)) return tagged(wrapper, time, body, undefined)
  return { wrapper, time, body, message: body }
}

function tagged(wrapper: string, time: LogTime, body: string, host: string | undefined): Unwrapped {
  const t = TAG.exec(body)
  const out: Unwrapped = { wrapper, time, body, message: body }
  if (host !== undefined) out.host = host
  if (!t) return out
  out.tag = t[1]
  out.message = body.slice(t[0].length)
  if (t[1] === 'kernel') {
    const b = BOOT_STAMP.exec(out.message)
    if (b) {
      out.time = { ...time, bootSec: bootSeconds(b[1], b[2]) }
      out.message = out.message.slice(b[0].length)
    }
  }
  return out
}

function rfc5424(rest: string): Unwrapped | undefined {
  const m = RFC5424.exec(rest)
  if (!m) return undefined
  const time = m[1] === '-' ? {} : readIsoTime(m[1])
  if (!time) return undefined
  const message = (m[7] ?? '').replace(/^\uFEFF/, '')
  const out: Unwrapped = { wrapper: 'rfc5424', time, body: message, message }
  if (m[2] !== '-') out.host = m[2]
  if (m[3] !== '-') out.tag = m[3]
  if (out.tag === 'kernel') {
    const b = BOOT_STAMP.exec(message)
    if (b) {
      out.time = { ...time, bootSec: bootSeconds(b[1], b[2]) }
      out.message = message.slice(b[0].length)
    }
  } else if (out.tag) {
    out.body = `${out.tag}${m[4] === '-' ? '' : `[${m[4]}]`}: ${message}`
  }
  return out
}

function dmesg(rest: string): Unwrapped | undefined {
  const m = DMESG.exec(rest)
  if (!m) return undefined
  return { wrapper: 'dmesg', time: { bootSec: bootSeconds(m[1], m[2]) }, body: m[3], message: m[3] }
}

function dmesgT(rest: string): Unwrapped | undefined {
  const m = DMESG_T.exec(rest)
  if (!m) return undefined
  const wall = {
    year: Number(m[6]),
    month: MONTHS.indexOf(m[1]) + 1,
    day: Number(m[2]),
    hour: Number(m[3]),
    minute: Number(m[4]),
    second: Number(m[5]),
    micros: 0
  }
  return { wrapper: 'dmesg-T', time: { wall }, body: m[7], message: m[7] }
}

function iso(rest: string): Unwrapped | undefined {
  const m = ISO.exec(rest)
  if (!m) return undefined
  const zone = m[9]
  const wrapper =
    zone === undefined ? 'local-iso' : /^[+-]\d{4}$/.test(zone) ? 'journal-short-iso' : 'syslog-iso'
  return withHeader(wrapper, isoTime(m), m[10], zone !== undefined)
}

function syslog(rest: string): Unwrapped | undefined {
  const m = SYSLOG.exec(rest)
  if (!m) return undefined
  const wall = {
    month: MONTHS.indexOf(m[1]) + 1,
    day: Number(m[2]),
    hour: Number(m[3]),
    minute: Number(m[4]),
    second: Number(m[5]),
    micros: fractionMicros(m[6])
  }
  const wrapper = m[6] === undefined ? 'syslog' : 'journal-short-precise'
  return withHeader(wrapper, { wall }, m[7], true)
}

function audit(rest: string): Unwrapped | undefined {
  const m = AUDIT.exec(rest)
  if (!m) return undefined
  const time = { utcUs: Number(m[1]) * 1e6 + fractionMicros(m[2]) }
  return { wrapper: 'audit', time, body: rest, message: m[3] }
}

function isoTime(m: RegExpExecArray): LogTime {
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const [hour, minute, second] = [Number(m[5]), Number(m[6]), Number(m[7])]
  const micros = fractionMicros(m[8])
  const wall = { year, month, day, hour, minute, second, micros }
  const zone = m[9]
  if (zone === undefined) return { wall }
  const z = /^([+-])(\d\d):?(\d\d)$/.exec(zone)
  const offsetMin = z ? (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) : 0
  const utcMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMin * 60_000
  return { wall: { ...wall, offsetMin }, utcUs: utcMs * 1000 + micros }
}

function fractionMicros(digits: string | undefined): number {
  if (!digits) return 0
  return Math.floor(Number(digits.padEnd(9, '0')) / 1000)
}

function bootSeconds(whole: string, fraction: string): number {
  return Number(whole) + fractionMicros(fraction) / 1e6
}
