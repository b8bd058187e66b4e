/**
 * `journalctl -o json` lines: one JSON object per line with MESSAGE (a string, or an array of
 * bytes when it is not valid UTF-8), __REALTIME_TIMESTAMP (microseconds since the epoch, as a
 * string), _HOSTNAME, SYSLOG_IDENTIFIER, _PID and _TRANSPORT.
 */

import type { Unwrapped } from './read-log-wrapper'

/** Returns the journal entry a JSON line holds; undefined when the line is not one; an error when it is unreadable. */
export function unwrapJournalJson(line: string): Unwrapped | { error: string } | undefined {
  const trimmed = line.trim()
  if (!trimmed.startsWith('{')) return undefined
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch (e) {
    if (!/"(MESSAGE|__REALTIME_TIMESTAMP)"/.test(trimmed)) return undefined
    return { error: `journal JSON does not parse: ${(e as Error).message}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const entry = value as Record<string, unknown>
  if (!('MESSAGE' in entry)) return undefined
  const message = messageText(entry.MESSAGE)
  if (message === undefined)
    return { error: 'journal MESSAGE is neither text nor an array of bytes' }
  return journalEntry(entry, message)
}

/** Returns an Unwrapped for a parsed journal entry whose MESSAGE is `message`. */
export function journalEntry(entry: Record<string, unknown>, message: string): Unwrapped {
  const out: Unwrapped = { wrapper: 'journal-json', time: {}, body: message, message }
  const us = entry.__REALTIME_TIMESTAMP
  if ((typeof us === 'string' && /^\d+$/.test(us)) || typeof us === 'number') {
    out.time = { utcUs: Number(us) }
  }
  if (typeof entry._HOSTNAME === 'string') out.host = entry._HOSTNAME
  const kernel = entry._TRANSPORT === 'kernel' || entry.SYSLOG_IDENTIFIER === 'kernel'
  const tag = typeof entry.SYSLOG_IDENTIFIER === 'string' ? entry.SYSLOG_IDENTIFIER : undefined
  if (kernel) out.tag = 'kernel'
  else if (tag) {
    out.tag = tag
    const pid = typeof entry._PID === 'string' ? `[${entry._PID}]` : ''
    out.body = `${tag}${pid}: ${message}`
  }
  return out
}

function messageText(m: unknown): string | undefined {
  if (typeof m === 'string') return m
  if (!Array.isArray(m) || !m.every((b) => Number.isInteger(b) && b >= 0 && b < 256))
    return undefined
  return new TextDecoder('utf-8', { fatal: false }).decode(new Uint8Array(m as number[]))
}
