/**
 * The front door for log files: every line unwrapped (dmesg, syslog, RFC 5424, journalctl's
 * formats, journal JSON), then read as a netfilter packet, a conntrack, TCP-wrappers, SELinux or
 * fail2ban event. Unreadable lines become problems with their line numbers; other lines are
 * counted as ignored. Never throws.
 */

import { problem } from '../../shared/problem'
import type { LogRead } from './log-event'
import { readJsonDocument } from './read-json-document'
import { unwrapJournalJson } from './read-journal-json'
import { readLogMessage, type MessageOutcome } from './read-log-message'
import { unwrapLine } from './read-log-wrapper'

/** The link-layer header line the kernel prints after a martian: `ll header: 00000000: ...`. */
const LL_HEADER = /\bll header: [0-9a-f]+:((?:\s+[0-9a-f]{2})+)\s*$/

/** Returns the events in a log file's text; `source` (the file's path) names it in events and problems. */
export function readLog(source: string, text: string): LogRead {
  const document = readJsonDocument(source, text)
  if (document) return document
  const lines = text.split(/\r?\n/)
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const out: LogRead = { events: [], lines: lines.length, wrappers: [], problems: [], ignored: 0 }
  const wrappers = new Set<string>()
  let pending: { count: number; line: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    if (raw.trim() === '') continue
    const lineNo = i + 1
    const outcome = readLine(raw, source, lineNo, wrappers)
    if (pending && !('event' in outcome && outcome.event.kind === 'conntrack-full')) {
      out.ignored++
      pending = undefined
    }
    if ('error' in outcome) {
      out.problems.push(problem(source, `line ${lineNo}`, outcome.error, raw))
    } else if ('ignored' in outcome) {
      out.ignored++
    } else if ('suppressed' in outcome) {
      pending = { count: outcome.suppressed, line: lineNo }
    } else {
      const e = outcome.event
      if (pending && e.kind === 'conntrack-full') {
        e.suppressed = pending.count
        e.suppressedLine = pending.line
        pending = undefined
      }
      out.events.push(e)
      // The kernel dumps the martian's link-layer header on the next line: ARP (0806) or not.
      const next = lines[i + 1]
      const header = e.kind === 'martian' && next ? LL_HEADER.exec(next) : null
      if (header && e.martian) {
        // An Ethernet header: destination and source MAC, then the EtherType (0806: ARP).
        const bytes = header[1].trim().split(/\s+/)
        e.martian.arp = bytes[12] === '08' && bytes[13] === '06'
        out.ignored++
        i++
      }
    }
  }
  if (pending) out.ignored++
  out.wrappers = [...wrappers]
  return out
}

function readLine(
  raw: string,
  source: string,
  lineNo: number,
  wrappers: Set<string>
): MessageOutcome {
  const json = unwrapJournalJson(raw)
  if (json && 'error' in json) return json
  const u = json ?? unwrapLine(raw)
  if (u.wrapper !== 'none') wrappers.add(u.wrapper)
  return readLogMessage(u, source, lineNo, raw)
}
