/**
 * Ties log events to flows: a logged packet belongs to the flow with the
 * same protocol, addresses and ports (either direction, before or after
 * NAT), at a time inside the flow's span when the log's clock is aligned.
 * An ICMP error belongs to the flow it quotes.
 */

import type { Flow } from '../../shared/incident'
import { loggedProto } from '../align/packet-keys'
import { normalizeAddress } from '../hostfacts/address'
import type { LogEvent, LoggedPacket } from '../logs/log-event'
import type { HostEvidence } from './evidence'
import { flowEnds, type FlowEnds } from './host-roles'

/** A log event, the host whose log it is, and its capture time when the log's clock is aligned. */
export interface PlacedEvent {
  event: LogEvent
  host: HostEvidence
  /** Epoch seconds in capture time. */
  time?: number
  /** The alignment used, in words. */
  alignment: string
}

/** How a logged packet relates to its flow. */
export type LoggedRole = 'opening' | 'reply' | 'icmp'

/** A logged packet matched to a flow. */
export interface FlowLog {
  placed: PlacedEvent
  role: LoggedRole
}

const PROTO_OF_FLOW = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 } as const

/** Seconds a logged packet may fall outside its flow's span and still belong to it. */
const SLACK_SEC = 2

/** Seconds a logged packet may fall outside its flow's span in a second, looser pass. */
export const LOOSE_SLACK_SEC = 120

/**
 * Returns the logged packets of each flow, by flow id: each packet to the nearest flow in time
 * with its addresses and ports, no further than `slackSec` outside that flow's captured span.
 */
export function matchLogsToFlows(
  flows: Flow[],
  events: PlacedEvent[],
  endsOf: (f: Flow) => FlowEnds = flowEnds,
  slackSec = SLACK_SEC
): Map<string, FlowLog[]> {
  const index = new Map<string, Flow[]>()
  const keyOf = (proto: number, a: string, b: string): string =>
    `${proto} ${[normalizeAddress(a), normalizeAddress(b)].sort().join(' ')}`
  const out = new Map<string, FlowLog[]>()
  if (events.length === 0) return out
  const ends = new Map(flows.map((f) => [f.id, endsOf(f)]))
  for (const f of flows) {
    const e = ends.get(f.id)!
    const proto = PROTO_OF_FLOW[f.proto]
    for (const k of new Set([keyOf(proto, e.src, e.dst), keyOf(proto, e.farSrc, e.farDst)])) {
      const list = index.get(k)
      if (list) list.push(f)
      else index.set(k, [f])
    }
  }
  for (const placed of events) {
    const p = placed.event.packet
    if (!p) continue
    const proto = loggedProto(p)
    if (proto === undefined) continue
    const quoted = p.quoted
    const isError = quoted !== undefined && (proto === 1 || proto === 58)
    const probe = isError ? quoted : p
    const probeProto = isError ? loggedProto(quoted) : proto
    if (probeProto === undefined) continue
    const candidates = index.get(keyOf(probeProto, probe.src, probe.dst)) ?? []
    let best: { flow: Flow; role: LoggedRole; distance: number } | undefined
    for (const flow of candidates) {
      const role = roleIn(flow, ends.get(flow.id)!, probe, isError)
      if (!role) continue
      const distance = placed.time === undefined ? 0 : outside(flow, placed.time)
      if (distance > slackSec) continue
      if (!best || distance < best.distance) best = { flow, role, distance }
    }
    if (!best) continue
    const list = out.get(best.flow.id)
    const item = { placed, role: best.role }
    if (list) list.push(item)
    else out.set(best.flow.id, [item])
  }
  return out
}

/** Returns how far (seconds) a time lies outside a flow's span; 0 inside it. */
function outside(flow: Flow, t: number): number {
  const first = Date.parse(flow.first) / 1000
  const last = Date.parse(flow.last) / 1000
  return t < first ? first - t : t > last ? t - last : 0
}

/** Returns whether the logged packet runs in the flow's opening direction or back, by ports. */
function roleIn(
  flow: Flow,
  e: FlowEnds,
  p: LoggedPacket,
  isError: boolean
): LoggedRole | undefined {
  const s = normalizeAddress(p.src)
  const d = normalizeAddress(p.dst)
  const forward = [
    [e.src, e.sport, e.dst, e.dport],
    [e.farSrc, e.farSport, e.farDst, e.farDport]
  ] as const
  for (const [src, sport, dst, dport] of forward) {
    const ports = (a?: number, b?: number): boolean =>
      flow.proto !== 'tcp' && flow.proto !== 'udp' ? true : a === p.sport && b === p.dport
    if (normalizeAddress(src) === s && normalizeAddress(dst) === d && ports(sport, dport))
      return isError ? 'icmp' : 'opening'
    if (normalizeAddress(dst) === s && normalizeAddress(src) === d && ports(dport, sport))
      return isError ? 'icmp' : 'reply'
  }
  return undefined
}
