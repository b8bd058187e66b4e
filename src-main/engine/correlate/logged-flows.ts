/**
 * Conversations only a log saw. A drop the kernel logged that no captured flow explains (there
 * was no capture at that point, or no capture at all) is a failed conversation too: the logged
 * packets become a flow of their own, seen at no capture point and logged on their host, so a
 * folder of drop logs and ruleset snapshots alone gives findings.
 */

import type { Flow, KeyPacket, Outcome, Proto } from '../../shared/incident'
import { formatTimestamp } from '../capture/packet-record'
import { loggedProto } from '../align/packet-keys'
import { normalizeAddress } from '../hostfacts/address'
import type { LoggedPacket } from '../logs/log-event'
import type { Cidr, Rule } from '../rulesets/model'
import type { HostEvidence } from './evidence'
import { perHost } from './host-memo'
import { natTarget } from './host-roles'
import type { FlowLog, LoggedRole, PlacedEvent } from './log-match'
import { loggedVerdict } from './logged-walk'

/** A log prefix that says the packet was refused. */
export const DROP_PREFIX = /drop|reject|block|deny|denied|refuse/i
/** Logged packets of one conversation further apart than this are two conversations. */
const SAME_CONVERSATION_SEC = 120

const PROTO_NAME: Record<number, Proto> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' }

/** Whether two logged packets are one: the same addresses, ports, IP ID, length and flags. */
function samePacket(x: LoggedPacket, y: LoggedPacket): boolean {
  return (
    x.src === y.src &&
    x.dst === y.dst &&
    x.sport === y.sport &&
    x.dport === y.dport &&
    x.id === y.id &&
    x.len === y.len &&
    (x.flags ?? []).join() === (y.flags ?? []).join()
  )
}

/** A logged packet's conversation: its opener's side and the part it played. */
interface Side {
  proto: Proto
  src: string
  sport?: number
  dst: string
  dport?: number
  role: LoggedRole
  /** A TCP SYN (not SYN-ACK): counts toward the opener's retransmissions. */
  syn: boolean
}

/**
 * Returns flows for the logged packets `unmatched` (no captured flow took them), numbered from
 * `firstId`, each with its log lines as that flow's logs. Only refused packets count: a drop
 * prefix, or a walk through the host's snapshot that does not accept. Broadcast, multicast and
 * DHCP are not conversations; ICMP errors belong to the conversation they quote.
 */
export function loggedFlows(
  unmatched: PlacedEvent[],
  firstId: number
): { flows: Flow[]; logs: Map<string, FlowLog[]> } {
  const groups = new Map<string, { side: Side; events: PlacedEvent[] }[]>()
  for (const placed of unmatched) {
    const p = placed.event.packet
    if (placed.event.kind !== 'packet' || !p) continue
    const side = sideOf(p, placed.host)
    if (!side || notAConversation(side)) continue
    const key = [
      placed.host.name,
      side.proto,
      normalizeAddress(side.src),
      side.sport,
      normalizeAddress(side.dst),
      side.dport,
      side.role
    ].join(' ')
    const list = groups.get(key) ?? []
    const t = timeOf(placed)
    const last = list.at(-1)
    const previous = last?.events.at(-1)
    // The same line twice (a log forwarded to two files, kern.log beside syslog): one packet.
    if (previous && t === timeOf(previous) && samePacket(p, previous.event.packet!)) continue
    if (last && t - timeOf(previous!) <= SAME_CONVERSATION_SEC) last.events.push(placed)
    else list.push({ side, events: [placed] })
    groups.set(key, list)
  }
  const drafts: { flow: Omit<Flow, 'id'>; logs: FlowLog[]; t: number }[] = []
  for (const list of groups.values())
    for (const { side, events } of list) {
      const first = events[0]
      const verdict = loggedVerdict(first.host, first.event.packet!, first.event.prefix ?? '')
      const refused = verdict !== undefined && verdict.verdict !== 'accept'
      if (!refused && !DROP_PREFIX.test(first.event.prefix ?? '')) continue
      const outcome = outcomeOf(side, refused ? verdict.rejectWith : undefined)
      drafts.push({
        flow: flowOf(side, events, outcome),
        logs: events.map((placed) => ({ placed, role: side.role })),
        t: timeOf(first)
      })
    }
  drafts.sort((x, y) => x.t - y.t)
  const flows: Flow[] = []
  const logs = new Map<string, FlowLog[]>()
  for (const d of drafts) {
    const flow = { id: `F${firstId + flows.length}`, ...d.flow } as Flow
    flows.push(flow)
    logs.set(flow.id, d.logs)
  }
  return { flows, logs }
}

/**
 * Returns the conversation a logged packet belongs to, opener first, or undefined. A packet the
 * host forwarded after its DNAT rewrote it keeps the address the opener asked for, as a capture
 * at the opener would show it: the host's DNAT rule gives it back.
 */
function sideOf(p: LoggedPacket, host: HostEvidence): Side | undefined {
  const n = loggedProto(p)
  const proto = n === undefined ? undefined : PROTO_NAME[n]
  if (!proto) return undefined
  const forward = (role: LoggedRole, syn = false): Side => {
    const asked = p.in && p.out ? dnatOrigin(host, p) : undefined
    return {
      proto,
      src: p.src,
      sport: p.sport,
      dst: asked?.dst ?? p.dst,
      dport: asked ? asked.dport : p.dport,
      role,
      syn
    }
  }
  const back = (): Side => ({
    proto,
    src: p.dst,
    sport: p.dport,
    dst: p.src,
    dport: p.sport,
    role: 'reply',
    syn: false
  })
  if (proto === 'tcp') {
    const flags = p.flags ?? []
    if (!flags.includes('SYN') || flags.includes('RST')) return undefined
    return flags.includes('ACK') ? back() : forward('opening', true)
  }
  if (proto === 'udp') {
    if (p.sport === undefined || p.dport === undefined) return undefined
    // The side on a well-known port answers.
    return p.sport < 1024 && p.dport >= 1024 ? back() : forward('opening')
  }
  if (p.quoted) return undefined
  const v6 = proto === 'icmpv6'
  if (p.icmpType === (v6 ? 128 : 8)) return forward('opening')
  if (p.icmpType === (v6 ? 129 : 0)) return back()
  return undefined
}

/**
 * Returns the destination a host's DNAT rule rewrote into the logged packet's: the rule's own
 * single destination address (and port), when its target is the logged destination.
 */
function dnatOrigin(
  host: HostEvidence,
  p: LoggedPacket
): { dst: string; dport?: number } | undefined {
  const rules = dnatRules(host)
  if (rules.length === 0) return undefined
  const dst = normalizeAddress(p.dst)
  for (const { to, rule } of rules) {
    if (to.addr !== dst) continue
    if (to.port !== undefined && to.port !== p.dport) continue
    let asked: string | undefined
    let dport = p.dport
    for (const m of rule.matches) {
      if (m.kind === 'daddr' && !m.negate && m.cidrs.length === 1) asked = hostAddress(m.cidrs[0])
      if (
        m.kind === 'dport' &&
        !m.negate &&
        m.ranges.length === 1 &&
        m.ranges[0][0] === m.ranges[0][1]
      )
        dport = m.ranges[0][0]
    }
    if (asked) return { dst: asked, dport }
  }
  return undefined
}

/** A DNAT rule of a host's snapshots and its target's first address and port. */
interface DnatRule {
  to: { addr: string; port?: number }
  rule: Rule
}

/**
 * The host's DNAT rules in snapshot order, found once per host: each logged packet then looks
 * at these alone, not at every rule.
 */
const dnatRules = perHost(
  (h) => h.rulesets.length,
  (h) => {
    const rules: DnatRule[] = []
    for (const r of h.rulesets)
      for (const t of r.value.tables)
        for (const c of t.chains)
          for (const rule of c.rules) {
            const a = rule.action
            const to = a.kind === 'dnat' && a.to ? natTarget(a.to) : undefined
            if (to) rules.push({ to, rule })
          }
    return rules
  }
)

/** Returns a single-address prefix as address text, or undefined for a wider one. */
function hostAddress(c: Cidr): string | undefined {
  if (c.version === 4)
    return c.bits === 32 ? [24, 16, 8, 0].map((s) => (c.words[0] >>> s) & 255).join('.') : undefined
  if (c.bits !== 128) return undefined
  return normalizeAddress(
    c.words.map((w) => `${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}`).join(':')
  )
}

/**
 * Returns whether packets to these ends are not a conversation to explain: DHCP, broadcast or
 * multicast (a LAN's chatter, refused or not).
 */
export function notAConversation(c: {
  proto: Proto
  sport?: number
  dport?: number
  dst: string
}): boolean {
  if (c.proto === 'udp' && (c.dport === 67 || c.dport === 68 || c.sport === 67 || c.sport === 68))
    return true
  const d = c.dst
  if (d.includes(':')) return /^ff/i.test(d)
  const first = parseInt(d, 10)
  return (first >= 224 && first <= 239) || d === '255.255.255.255'
}

/** What the opener saw, from the part the refused packet played and how it was refused. */
function outcomeOf(side: Side, rejectWith: string | undefined): Outcome {
  if (side.role === 'reply') return side.proto === 'tcp' ? 'one-way' : 'unanswered'
  if (rejectWith !== undefined) {
    if (side.proto === 'tcp' && /reset|rst/i.test(rejectWith)) return 'refused-rst'
    return 'icmp-unreachable'
  }
  return side.proto === 'tcp' ? 'syn-timeout' : 'unanswered'
}

function flowOf(side: Side, events: PlacedEvent[], outcome: Outcome): Omit<Flow, 'id'> {
  const ports = side.proto === 'tcp' || side.proto === 'udp'
  const times = events.map(timeOf)
  const flow = { proto: side.proto, src: side.src } as Omit<Flow, 'id'>
  if (ports) flow.sport = side.sport
  flow.dst = side.dst
  if (ports) flow.dport = side.dport
  flow.first = iso(times[0])
  flow.last = iso(times.at(-1)!)
  flow.outcome = outcome
  flow.packets = events.length
  flow.bytes = events.reduce((n, e) => n + (e.event.packet!.len ?? 0), 0)
  flow.seenAt = []
  const hosts = [...new Set(events.map((e) => e.host.name).filter((h) => h !== ''))]
  if (hosts.length > 0) flow.loggedAt = hosts
  // The refused packet, as the log saw it: no capture point did.
  const key = keyPacketOf(side, events[0], flow.first)
  if (key) flow.keyPackets = [key]
  const syns = times.filter((_, i) => side.syn && events[i].event.packet!.flags?.includes('SYN'))
  if (side.syn) {
    flow.synRetransmits = syns.length - 1
    if (syns.length > 1)
      flow.synRetransmitOffsets = syns.slice(1).map((t) => Math.round((t - syns[0]) * 1e3) / 1e3)
  }
  return flow
}

/** The key packet a logged conversation's first refused packet is, when it is one. */
function keyPacketOf(side: Side, first: PlacedEvent, time: string): KeyPacket | undefined {
  if (side.proto !== 'tcp') return undefined
  const what = side.role === 'opening' ? 'syn' : 'syn-ack'
  const len = first.event.packet!.len
  return len === undefined ? { what, time, seenAt: [] } : { what, time, len, seenAt: [] }
}

/**
 * A logged packet's time in capture time, epoch seconds; with no clock to align to (dmesg
 * seconds and no boot time), its seconds since boot, which keep the order and the spacing.
 */
function timeOf(p: PlacedEvent): number {
  return p.time ?? p.event.time.bootSec ?? 0
}

function iso(t: number): string {
  const sec = Math.floor(t)
  return formatTimestamp(sec, Math.round((t - sec) * 1e6) * 1000, 6)
}
