/**
 * A whole JSON document of log records (a shipper's export: filebeat/Elastic events with
 * `message`, `@timestamp`, `host.hostname`, or an array of journal entries with MESSAGE). Each
 * record's message is read like a log line; its line is where the message is written.
 */

import { problem } from '../../shared/problem'
import type { LogRead, LogTime } from './log-event'
import { journalEntry } from './read-journal-json'
import { readLogMessage } from './read-log-message'
import { readIsoTime, type Unwrapped } from './read-log-wrapper'

/** Returns the events of a multi-line JSON document; undefined when the text is not one. */
export function readJsonDocument(source: string, text: string): LogRead | undefined {
  const start = text.trimStart()
  if (!start.startsWith('{') && !start.startsWith('[')) return undefined
  const firstLine = start.split('\n', 1)[0].trim()
  if (parses(firstLine)) return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  const lines = text.split(/\r?\n/)
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const out: LogRead = { events: [], lines: lines.length, wrappers: [], problems: [], ignored: 0 }
  const offsets = lineOffsets(text)
  let from = 0
  for (const record of records(value)) {
    const u = unwrapRecord(record)
    if (!u) continue
    const at = text.indexOf(JSON.stringify(u.message), from)
    if (at >= 0) from = at + 1
    const lineNo = at >= 0 ? lineOf(offsets, at) : 1
    const raw = lines[lineNo - 1] ?? ''
    if (!out.wrappers.includes(u.wrapper)) out.wrappers.push(u.wrapper)
    const r = readLogMessage(u, source, lineNo, raw)
    if ('event' in r) out.events.push(r.event)
    else if ('error' in r) out.problems.push(problem(source, `line ${lineNo}`, r.error, raw))
  }
  const nonEmpty = lines.filter((l) => l.trim() !== '').length
  out.ignored = Math.max(0, nonEmpty - out.events.length - out.problems.length)
  return out
}

function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function* records(v: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(v)) {
    for (const x of v) yield* records(x)
    return
  }
  if (typeof v !== 'object' || v === null) return
  const o = v as Record<string, unknown>
  if (typeof o.message === 'string' || 'MESSAGE' in o) {
    yield o
    return
  }
  for (const x of Object.values(o)) yield* records(x)
}

function unwrapRecord(o: Record<string, unknown>): Unwrapped | undefined {
  if ('MESSAGE' in o) {
    return typeof o.MESSAGE === 'string' ? journalEntry(o, o.MESSAGE) : undefined
  }
  const message = o.message as string
  const time: LogTime =
    typeof o['@timestamp'] === 'string' ? (readIsoTime(o['@timestamp']) ?? {}) : {}
  const u: Unwrapped = { wrapper: 'json-document', time, body: message, message }
  const host = field(o, 'host', 'hostname') ?? field(o, 'host', 'name')
  if (typeof host === 'string') u.host = host
  const kernel =
    field(o, 'syslog', 'identifier') === 'kernel' || field(o, 'systemd', 'transport') === 'kernel'
  if (kernel) u.tag = 'kernel'
  return u
}

function field(o: Record<string, unknown>, a: string, b: string): unknown {
  const inner = o[a]
  return typeof inner === 'object' && inner !== null
    ? (inner as Record<string, unknown>)[b]
    : undefined
}

function lineOffsets(text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

function lineOf(starts: number[], offset: number): number {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid] <= offset) lo = mid
    else hi = mid - 1
  }
  return lo + 1
}
