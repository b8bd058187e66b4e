/**
 * Log messages that are not packets: conntrack's table full (and the rate limiter's
 * `callbacks suppressed`), other nf_conntrack messages, TCP-wrappers refusals, SELinux AVC
 * denials and fail2ban bans.
 */

import { normalizeAddress } from '../hostfacts/address'
import type { LogEvent, LogTime } from './log-event'
import type { Unwrapped } from './read-log-wrapper'

/** What a message said: part of an event, a suppressed count, or why it could not be read. */
export type SystemMessage =
  | { event: Partial<LogEvent> & Pick<LogEvent, 'kind'>; time?: LogTime }
  | { suppressed: number; by: 'net_ratelimit' | 'nf_conntrack' }
  | { error: string }

const TABLE_FULL =
  /\bnf_conntrack: (?:nf_conntrack: )?table full(?: in netns (\d+))?, dropping packet/
const SUPPRESSED = /\b(net_ratelimit|nf_conntrack): (\d+) callbacks suppressed/
const CONNTRACK = /\b(nf_conntrack|nf_ct_\w+):\s*(.*)$/
const REFUSED = /refused connect from (\S+)(?: \(([^)]*)\))?/
const AVC = /\bavc:\s+denied\s+\{\s*([^}]*?)\s*\}\s+for\s+(.*)$/
const AUDIT_TIME = /\baudit\((\d+)\.(\d{1,9}):\d+\)/
const FAIL2BAN = /\[([^\]\s]+)\]\s+(?:Restore\s+)?(Ban|Unban)\s+(\S+)\s*$/

/** Returns what a conntrack, TCP-wrappers, SELinux or fail2ban message says; undefined for other messages. */
export function readSystemMessage(u: Unwrapped): SystemMessage | undefined {
  return (
    conntrack(u.body) ?? martian(u.body) ?? selinux(u.body) ?? tcpWrappers(u) ?? fail2ban(u.body)
  )
}

/** `martian source DST from SRC, on dev IF` / `martian destination DST from SRC, dev IF`. */
const MARTIAN = /\bmartian (source|destination) (\S+) from (\S+?),? (?:on )?dev (\S+)/

function martian(body: string): SystemMessage | undefined {
  const m = MARTIAN.exec(body)
  if (!m) return undefined
  return {
    event: {
      kind: 'martian',
      martian: {
        what: m[1] as 'source' | 'destination',
        dst: normalizeAddress(m[2]),
        src: normalizeAddress(m[3]),
        dev: m[4]
      }
    }
  }
}

function conntrack(body: string): SystemMessage | undefined {
  const full = TABLE_FULL.exec(body)
  if (full) {
    const event: Partial<LogEvent> & Pick<LogEvent, 'kind'> = { kind: 'conntrack-full' }
    if (full[1] !== undefined) event.netns = full[1]
    return { event }
  }
  const s = SUPPRESSED.exec(body)
  if (s) return { suppressed: Number(s[2]), by: s[1] as 'net_ratelimit' | 'nf_conntrack' }
  if (/\bnf_conntrack: .*table full/.test(body))
    return { error: 'unreadable conntrack table-full message' }
  const c = CONNTRACK.exec(body)
  if (c) return { event: { kind: 'conntrack', message: c[2].trim() } }
  return undefined
}

function selinux(body: string): SystemMessage | undefined {
  if (!/\bavc:\s+denied\b/.test(body)) return undefined
  const m = AVC.exec(body)
  if (!m) return { error: 'AVC denial without `{ permission } for` fields' }
  const f = avcFields(m[2])
  const se: NonNullable<LogEvent['selinux']> = { permission: m[1] }
  if (f.comm !== undefined) se.comm = commText(f.comm)
  for (const [key, slot] of [
    ['pid', 'pid'],
    ['dest', 'port'],
    ['src', 'port']
  ] as const) {
    if (f[key] === undefined) continue
    if (!/^\d+$/.test(f[key])) return { error: `bad number in ${key}=${f[key]}` }
    se[slot] = Number(f[key])
  }
  if (f.dest !== undefined) se.dest = f.dest
  if (f.scontext !== undefined) se.scontext = f.scontext
  if (f.tcontext !== undefined) se.tcontext = f.tcontext
  if (f.tclass !== undefined) se.tclass = f.tclass
  if (f.permissive !== undefined) se.permissive = f.permissive === '1'
  const t = AUDIT_TIME.exec(body)
  const time = t
    ? { utcUs: Number(t[1]) * 1e6 + Number(t[2].padEnd(6, '0').slice(0, 6)) }
    : undefined
  return time
    ? { event: { kind: 'selinux', selinux: se }, time }
    : { event: { kind: 'selinux', selinux: se } }
}

function avcFields(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/(\w+)=("[^"]*"|\S+)/g)) if (!(m[1] in out)) out[m[1]] = m[2]
  return out
}

/** The audit log quotes comm= when it is plain text and writes it in hex otherwise. */
function commText(raw: string): string {
  if (raw.startsWith('"')) return raw.slice(1, -1)
  if (/^([0-9A-F]{2})+$/.test(raw)) {
    return raw.replace(/../g, (h) => String.fromCharCode(parseInt(h, 16)))
  }
  return raw
}

function tcpWrappers(u: Unwrapped): SystemMessage | undefined {
  const m = REFUSED.exec(u.body)
  if (!m) return undefined
  const client = normalizeAddress(m[2] ?? m[1])
  const daemon = u.tag ?? /(\S+?)(?:\[\d+\])?:\s+refused connect/.exec(u.body)?.[1]
  const event: Partial<LogEvent> & Pick<LogEvent, 'kind'> = { kind: 'tcp-wrappers', client }
  if (daemon !== undefined) event.daemon = daemon
  return { event }
}

function fail2ban(body: string): SystemMessage | undefined {
  if (!/fail2ban/.test(body) || !/\b(Ban|Unban)\b/.test(body)) return undefined
  const m = FAIL2BAN.exec(body)
  if (!m) {
    if (/\]\s+(?:Restore\s+)?(Ban|Unban)\s*$/.test(body))
      return { error: 'fail2ban ban without an address' }
    return undefined
  }
  const action = m[2] === 'Ban' ? 'ban' : 'unban'
  return {
    event: { kind: 'fail2ban', fail2ban: { jail: m[1], action, address: normalizeAddress(m[3]) } }
  }
}
