/**
 * One unwrapped log message turned into an event, a problem, a suppressed count or nothing.
 */

import type { LogEvent } from './log-event'
import { isArpLog, looksLikeNetfilter, readNetfilterFields } from './read-netfilter-fields'
import { readSystemMessage } from './read-system-events'
import type { Unwrapped } from './read-log-wrapper'

/** What one message became. */
export type MessageOutcome =
  { event: LogEvent } | { suppressed: number } | { error: string } | { ignored: true }

/**
 * Returns the event a message holds (file, line and text as given), a problem, `ignored`, or the
 * count of a `net_ratelimit: N callbacks suppressed` line (the caller joins it to what follows).
 */
export function readLogMessage(
  u: Unwrapped,
  file: string,
  line: number,
  text: string
): MessageOutcome {
  const base = (): LogEvent => {
    const e = { file, line, text, time: u.time } as LogEvent
    if (u.host !== undefined) e.host = u.host
    return e
  }
  if (isArpLog(u.body)) return { ignored: true }
  if (looksLikeNetfilter(u.body) && !/\bavc:\s+denied\b/.test(u.body)) {
    // After `kernel:` the prefix starts; a line without that tag keeps whatever precedes IN=.
    const r = readNetfilterFields(u.tag === 'kernel' ? u.message : afterKernelTag(u.body))
    if ('error' in r) return { error: r.error }
    return { event: { ...base(), kind: 'packet', prefix: r.prefix, packet: r.packet } }
  }
  const s = readSystemMessage(u)
  if (!s) return { ignored: true }
  if ('event' in s) {
    const e: LogEvent = { ...base(), ...s.event }
    if (s.time) e.time = { ...u.time, ...s.time }
    return { event: e }
  }
  if ('error' in s) return s
  // nf_conntrack's own rate limiter counts table-full messages it did not print.
  if (s.by === 'nf_conntrack') {
    return { event: { ...base(), kind: 'conntrack-full', suppressed: s.suppressed } }
  }
  return { suppressed: s.suppressed }
}

/** A body whose header was not understood may still hold `kernel:` before IN=; the prefix starts after it. */
function afterKernelTag(body: string): string {
  const tag = /\bkernel:\s?(?:\[\s*\d+\.\d+\]\s?)?/.exec(body)
  const fields = body.search(/IN=\S*[ \t]+OUT=/)
  return tag && fields >= 0 && tag.index < fields ? body.slice(tag.index + tag[0].length) : body
}
