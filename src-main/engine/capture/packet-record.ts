import { tcpFlagLetters } from './decode-tcp'
import type { Packet } from './packet'

/** The flat, stable per-packet object `verdict packets --format jsonl` prints. */
export interface PacketRecord {
  n: number
  ts: string
  iface: number
  len: number
  caplen: number
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'other'
  ipVersion?: 4 | 6
  src?: string
  dst?: string
  sport?: number
  dport?: number
  tcpFlags?: string
  seq?: number
  ack?: number
  win?: number
  payloadLen?: number
  ipId?: number
  ttl?: number
  df?: boolean
  mf?: boolean
  fragOffset?: number
  fragment?: boolean
  reassembledFrom?: number[]
  icmpType?: number
  icmpCode?: number
  mtu?: number
  inner?: { proto: string; src: string; dst: string; sport?: number; dport?: number; seq?: number }
  vlan?: number[]
  dir?: 'in' | 'out' | 'broadcast' | 'multicast' | 'other-host'
  ifindex?: number
  nflogPrefix?: string
  nflogGroup?: number
  nflogHook?: number
  comment?: string
  problem?: string
}

const PROTO_NAME: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' }
const DIRECTION = ['in', 'broadcast', 'multicast', 'other-host', 'out'] as const

/** Returns the flat record of a decoded packet; timestamps carry `tsDigits` fractional digits. */
export function toPacketRecord(p: Packet, tsDigits: number): PacketRecord {
  const r: PacketRecord = {
    n: p.n,
    ts: formatTimestamp(p.sec, p.nsec, tsDigits),
    iface: p.iface,
    len: p.len,
    caplen: p.caplen,
    proto: 'other'
  }
  const ip = p.ip
  if (ip) {
    r.ipVersion = ip.version
    r.src = ip.src
    r.dst = ip.dst
    r.ttl = ip.ttl
    if (ip.version === 4) {
      r.ipId = ip.id
      r.df = ip.df
      if (ip.mf) r.mf = true
      if (ip.fragOffset) r.fragOffset = ip.fragOffset
      if (ip.mf || ip.fragOffset) r.fragment = true
    } else if (ip.fragment) {
      r.ipId = ip.fragment.id
      if (ip.fragment.more) r.mf = true
      if (ip.fragment.offset) r.fragOffset = ip.fragment.offset
      if (ip.fragment.more || ip.fragment.offset) r.fragment = true
    }
    const name = PROTO_NAME[ip.proto]
    if (name) r.proto = name as PacketRecord['proto']
  }
  if (p.reassembled) r.reassembledFrom = p.reassembled.frames
  const l4 = p.l4
  if (l4) {
    if (l4.kind === 'tcp') {
      r.sport = l4.sport
      r.dport = l4.dport
      r.tcpFlags = tcpFlagLetters(l4.flags)
      r.seq = l4.seq
      r.ack = l4.ack
      // A header the snap length cut before its window has none to show.
      if (l4.cut === undefined || l4.cut >= 16) r.win = l4.win
      r.payloadLen = l4.payloadLen
    } else if (l4.kind === 'udp') {
      r.sport = l4.sport
      r.dport = l4.dport
      r.payloadLen = l4.payloadLen
    } else {
      r.icmpType = l4.type
      r.icmpCode = l4.code
      if (l4.mtu !== undefined) r.mtu = l4.mtu
      const q = l4.inner
      if (q) {
        const inner: NonNullable<PacketRecord['inner']> = {
          proto: PROTO_NAME[q.ip.proto] ?? String(q.ip.proto),
          src: q.ip.src,
          dst: q.ip.dst
        }
        if (q.l4?.sport !== undefined) inner.sport = q.l4.sport
        if (q.l4?.dport !== undefined) inner.dport = q.l4.dport
        if (q.l4?.kind === 'tcp' && q.l4.seq !== undefined) inner.seq = q.l4.seq
        r.inner = inner
      }
    }
  }
  const link = p.link
  if (link.vlan) r.vlan = link.vlan
  if (link.sllPktType !== undefined) r.dir = DIRECTION[link.sllPktType] ?? 'other-host'
  if (link.sllIfindex !== undefined) r.ifindex = link.sllIfindex
  if (link.nflog) {
    if (link.nflog.prefix !== undefined) r.nflogPrefix = link.nflog.prefix
    r.nflogGroup = link.nflog.group
    if (link.nflog.hook !== undefined) r.nflogHook = link.nflog.hook
  }
  if (p.comment !== undefined) r.comment = p.comment
  if (p.problem !== undefined) r.problem = p.problem
  return r
}

/** Whole-second texts by second, direct-mapped: a report's times jump between a few hundred seconds. */
const WHOLE_SLOTS = 1024
const wholeSec = new Float64Array(WHOLE_SLOTS).fill(NaN)
const wholeText: (string | undefined)[] = new Array<string | undefined>(WHOLE_SLOTS).fill(undefined)

/** Returns "YYYY-MM-DDTHH:MM:SS" for a second, remembering the recent ones. */
function wholeSeconds(sec: number): string | undefined {
  const slot = sec & (WHOLE_SLOTS - 1)
  if (wholeSec[slot] !== sec) {
    const date = new Date(sec * 1000)
    wholeSec[slot] = sec
    wholeText[slot] = Number.isNaN(date.getTime()) ? undefined : date.toISOString().slice(0, 19)
  }
  return wholeText[slot]
}

/** Returns an ISO-8601 UTC timestamp with `digits` fractional digits (6 for µs, 9 for ns). */
export function formatTimestamp(sec: number, nsec: number, digits: number): string {
  // An out-of-range fraction (a corrupt record) carries into the seconds rather than printing garbage.
  if (nsec >= 1e9) {
    sec += Math.floor(nsec / 1e9)
    nsec %= 1e9
  }
  const whole = wholeSeconds(sec)
  if (whole === undefined) return `${sec}.${String(nsec).padStart(9, '0')}`
  if (digits <= 0) return whole + 'Z'
  // Joined, not added: adding makes a tree of string pieces (three nodes here), which takes twice
  // the memory of the text while a flow keeps it and is copied flat when the Incident is written.
  return [whole, '.', String(nsec).padStart(9, '0').slice(0, Math.min(digits, 9)), 'Z'].join('')
}
