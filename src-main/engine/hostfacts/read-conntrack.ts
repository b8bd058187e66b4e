import { problem, type Problem } from '../../shared/problem'
import { addressFamily, normalizeAddress, numberedLines } from './address'

/** One direction of a conntrack entry. */
export interface CtTuple {
  src: string
  dst: string
  sport?: number
  dport?: number
  /** ICMP / ICMPv6 type, code and id. */
  type?: number
  code?: number
  id?: number
  /** Present when accounting (net.netfilter.nf_conntrack_acct) is on. */
  packets?: number
  bytes?: number
}

export interface ConntrackEntry {
  line: number
  family: 4 | 6
  /** Protocol name as printed: tcp, udp, icmp, icmpv6, sctp, gre, unknown... */
  proto: string
  protoNumber: number
  /** TCP / SCTP / DCCP state: SYN_SENT, ESTABLISHED, TIME_WAIT... */
  state?: string
  timeoutSec: number
  orig: CtTuple
  reply: CtTuple
  /** The bracketed flags: UNREPLIED, ASSURED, OFFLOAD, HW_OFFLOAD... */
  flags: string[]
  mark?: number
  zone?: number
  use?: number
  /** Other key=value fields (secctx, labels, delta-time...). */
  extra: Record<string, string>
}

export interface ConntrackSummary {
  count: number
  /** Entries by state; entries without a state (udp, icmp) count under their protocol name. */
  byState: Record<string, number>
  byProto: Record<string, number>
  unreplied: number
  assured: number
}

export interface ConntrackTable {
  /** 'conntrack' (conntrack -L) or 'proc' (/proc/net/nf_conntrack); the first entry decides. */
  format?: 'conntrack' | 'proc'
  entries: ConntrackEntry[]
  summary: ConntrackSummary
  problems: Problem[]
}

const TUPLE_NUMBERS = new Set(['sport', 'dport', 'type', 'code', 'id', 'packets', 'bytes'])

/**
 * Returns the entries of `conntrack -L` output or /proc/net/nf_conntrack
 * (`ipv4 2 tcp 6 ...`). A line that cannot be read is a problem with its
 * line number; the other lines are kept.
 */
export function readConntrack(source: string, text: string): ConntrackTable {
  const problems: Problem[] = []
  const entries: ConntrackEntry[] = []
  let format: ConntrackTable['format']
  for (const { lineNo, raw } of numberedLines(text)) {
    const line = raw.trim()
    if (line === '') continue
    // conntrack's own stderr, when captured with 2>&1
    if (/^conntrack v[\d.]+ \(conntrack-tools\):/.test(line)) continue
    const parsed = parseEntry(line, lineNo)
    if (typeof parsed === 'string') {
      problems.push(problem(source, `line ${lineNo}`, parsed, raw))
      continue
    }
    format ??= parsed.proc ? 'proc' : 'conntrack'
    entries.push(parsed.entry)
  }
  return { format, entries, summary: summarize(entries), problems }
}

function parseEntry(
  line: string,
  lineNo: number
): { entry: ConntrackEntry; proc: boolean } | string {
  const tokens = line.split(/\s+/)
  let i = 0
  let family: 4 | 6 | undefined
  let proc = false
  if (tokens[0] === 'ipv4' || tokens[0] === 'ipv6') {
    family = tokens[0] === 'ipv4' ? 4 : 6
    proc = true
    if (!/^\d+$/.test(tokens[1] ?? '')) return 'no layer-3 protocol number after ' + tokens[0]
    i = 2
  }
  const proto = tokens[i]
  const protoNumber = tokens[i + 1]
  const timeout = tokens[i + 2]
  if (proto === undefined || !/^[a-z][\w-]*$/.test(proto)) return 'not a conntrack entry'
  if (!/^\d+$/.test(protoNumber ?? '')) return 'no protocol number after ' + proto
  if (!/^\d+$/.test(timeout ?? '')) return 'no timeout after the protocol number'
  i += 3
  let state: string | undefined
  if (tokens[i] !== undefined && /^[A-Z][A-Z0-9_]*$/.test(tokens[i])) state = tokens[i++]
  const tuples: Record<string, string>[] = []
  const flags: string[] = []
  const extra: Record<string, string> = {}
  let mark: number | undefined
  let zone: number | undefined
  let use: number | undefined
  for (; i < tokens.length; i++) {
    const t = tokens[i]
    const flag = /^\[([A-Z_]+)\]$/.exec(t)
    if (flag) {
      flags.push(flag[1])
      continue
    }
    const eq = t.indexOf('=')
    if (eq <= 0) return `unexpected "${t}"`
    const key = t.slice(0, eq)
    const value = t.slice(eq + 1)
    if (key === 'src') {
      if (tuples.length >= 2) return 'more than two tuples'
      tuples.push({})
    }
    if (key === 'src' || key === 'dst' || TUPLE_NUMBERS.has(key)) {
      const tuple = tuples[tuples.length - 1]
      if (tuple === undefined) return `"${t}" before the first src=`
      if (key in tuple) {
        extra[key] = value
        continue
      }
      tuple[key] = value
    } else if (key === 'mark' || key === 'zone' || key === 'use') {
      if (!/^\d+$/.test(value)) return `${key} is not a number: ${value}`
      if (key === 'mark') mark = Number(value)
      else if (key === 'zone') zone = Number(value)
      else use = Number(value)
    } else {
      extra[key] = value
    }
  }
  if (tuples.length !== 2) return 'an entry needs two tuples (original and reply)'
  const orig = toTuple(tuples[0])
  const reply = toTuple(tuples[1])
  if (typeof orig === 'string') return orig
  if (typeof reply === 'string') return reply
  family ??= addressFamily(orig.src)
  if (family === undefined) return `not an address: ${orig.src}`
  const entry: ConntrackEntry = {
    line: lineNo,
    family,
    proto,
    protoNumber: Number(protoNumber),
    timeoutSec: Number(timeout),
    orig,
    reply,
    flags,
    extra
  }
  if (state !== undefined) entry.state = state
  if (mark !== undefined) entry.mark = mark
  if (zone !== undefined) entry.zone = zone
  if (use !== undefined) entry.use = use
  return { entry, proc }
}

function toTuple(fields: Record<string, string>): CtTuple | string {
  const src = fields.src
  const dst = fields.dst
  if (src === undefined || dst === undefined) return 'a tuple without src= or dst='
  if (addressFamily(src) === undefined) return `not an address: ${src}`
  if (addressFamily(dst) === undefined) return `not an address: ${dst}`
  const tuple: CtTuple = { src: normalizeAddress(src), dst: normalizeAddress(dst) }
  for (const key of TUPLE_NUMBERS) {
    const v = fields[key]
    if (v === undefined) continue
    if (!/^\d+$/.test(v)) return `${key} is not a number: ${v}`
    ;(tuple as unknown as Record<string, number>)[key] = Number(v)
  }
  return tuple
}

function summarize(entries: ConntrackEntry[]): ConntrackSummary {
  const byState: Record<string, number> = {}
  const byProto: Record<string, number> = {}
  let unreplied = 0
  let assured = 0
  for (const e of entries) {
    const s = e.state ?? e.proto
    byState[s] = (byState[s] ?? 0) + 1
    byProto[e.proto] = (byProto[e.proto] ?? 0) + 1
    if (e.flags.includes('UNREPLIED')) unreplied++
    if (e.flags.includes('ASSURED')) assured++
  }
  return { count: entries.length, byState, byProto, unreplied, assured }
}
