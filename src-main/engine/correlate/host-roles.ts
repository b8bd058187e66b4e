/**
 * Which host is which in a conversation: the one that opened it (client),
 * the one it was addressed to (server), and the hosts that forwarded it
 * (routers). Known from each host's `ip addr` snapshot, else from its own
 * logs and capture points.
 */

import type { Flow } from '../../shared/incident'
import { normalizeAddress } from '../hostfacts/address'
import type { Route } from '../hostfacts/read-ip-route'
import type { IpRule } from '../hostfacts/read-ip-rule'
import type { Cidr } from '../rulesets/model'
import { parsePacketSpec, type PacketSpec } from '../evaluate/packet-spec'
import { inCidr, parseCidr } from '../rulesets/parse-address'
import {
  hostAddresses,
  localAddresses,
  type EvidenceSet,
  type FromFile,
  type HostEvidence
} from './evidence'
import { bridgeCrossing, type BridgeCrossing } from './bridge'
import { perHost } from './host-memo'
import { quickVerdict } from './quick-verdict'
import { walkNetfilter, type TraceStep } from '../evaluate/walk-netfilter'
import type { Ruleset, Table } from '../rulesets/model'

/** The hosts a flow crossed, each with the interfaces its packets used there. */
export interface FlowRoles {
  client?: HostEvidence
  server?: HostEvidence
  routers: HostEvidence[]
  /** The routers that bridge the flow between two ports rather than route it, and how. */
  bridged: Map<HostEvidence, BridgeCrossing>
  /** How the roles were found, for the evidence ("ip addr", "assumed: the only host with a ruleset"). */
  how: string[]
  /** The flow's ends; the far side as the captures saw it, or as a router's DNAT rule sends it. */
  ends: FlowEnds
}

/** The conversation's endpoints as the opener saw them and as the far side saw them (after NAT). */
export interface FlowEnds {
  src: string
  sport?: number
  dst: string
  dport?: number
  /** The far side's view (after DNAT/SNAT); equal to the near side without NAT. */
  farSrc: string
  farSport?: number
  farDst: string
  farDport?: number
  /** The flow's protocol. */
  proto?: string
}

/** Returns the flow's endpoints before and after any translation seen between points. */
export function flowEnds(flow: Flow): FlowEnds {
  const views = flow.nat?.views
  const last = views?.at(-1)
  return {
    src: flow.src,
    sport: flow.sport,
    dst: flow.dst,
    dport: flow.dport,
    farSrc: last?.src ?? flow.src,
    farSport: last?.sport ?? flow.sport,
    farDst: last?.dst ?? flow.dst,
    farDport: last?.dport ?? flow.dport,
    proto: flow.proto
  }
}

/** Returns the client, server and routers of a flow among the incident's hosts. */
export function flowRoles(flow: Flow, ev: EvidenceSet): FlowRoles {
  const ends = flowEnds(flow)
  const hosts = [...ev.hosts.values()].filter((h) => h.name !== '')
  // The opening packet addressed to a host that translates it onwards: the far side is where its
  // DNAT rule sends it, even when no capture there saw it arrive.
  if (ends.farDst === ends.dst) {
    const front = hosts.find((h) => ownsAddress(h, ends.dst))
    const to = front ? dnatTarget(front, flow, ends) : undefined
    if (to && !ownsAddress(front!, to.addr)) {
      ends.farDst = to.addr
      if (to.port !== undefined) ends.farDport = to.port
    }
  }
  const how: string[] = []
  const owns = (h: HostEvidence, addr: string): boolean => ownsAddress(h, addr)
  let client = hosts.find((h) => owns(h, ends.src))
  let server = hosts.find((h) => owns(h, ends.farDst)) ?? hosts.find((h) => owns(h, ends.dst))
  if (client) how.push(`${client.name} owns ${ends.src}`)
  if (server) how.push(`${server.name} owns ${server === client ? ends.dst : ends.farDst}`)
  const routers = hosts.filter(
    (h) => h !== client && h !== server && forwardsBetween(h, flow, ends)
  )
  for (const r of routers) how.push(`${r.name} forwards between ${ends.src} and ${ends.farDst}`)
  if (!server && !client) {
    const withRules = hosts.filter((h) => h.rulesets.length > 0 && !routers.includes(h))
    if (withRules.length === 1) {
      server = withRules[0]
      how.push(`assumed: ${server.name} is the only host with a ruleset and no address facts`)
    }
  }
  if (client === server) client = undefined
  const bridged = new Map<HostEvidence, BridgeCrossing>()
  for (const r of routers) {
    const b = bridgeCrossing(r, flow, ends)
    if (!b) continue
    bridged.set(r, b)
    how.push(`${r.name} bridges them on ${b.bridge}`)
  }
  return { client, server, routers, bridged, how, ends }
}

/**
 * Returns whether a host owns an address: its `ip addr` says so, or (with no
 * such snapshot) its kernel log shows the address as the destination of a
 * packet it received for itself or the source of one it sent.
 */
export function ownsAddress(h: HostEvidence, addr: string): boolean {
  const want = normalizeAddress(addr)
  if (h.ipAddr) return hostAddresses(h).has(want)
  return loggedOwn(h).has(want)
}

/** The addresses a host's own log shows it receiving for itself or sending. */
const loggedOwn = perHost(
  (h) => h.logs.length,
  (h) => {
    const set = new Set<string>()
    for (const e of h.logs) {
      if (!e.packet) continue
      if (e.packet.out === '') set.add(normalizeAddress(e.packet.dst))
      if (e.packet.in === '') set.add(normalizeAddress(e.packet.src))
    }
    return set
  }
)

/** Returns whether a host that owns neither end sits between them. */
function forwardsBetween(h: HostEvidence, flow: Flow, ends: FlowEnds): boolean {
  if (ownsAddress(h, ends.src) || ownsAddress(h, ends.farDst)) return false
  if (ownsAddress(h, ends.dst)) return true // the flow was addressed to it and translated onwards
  // A neighbour solicitation is multicast: every host on the link sees it without forwarding it.
  if (!flow.neighbourDiscovery && h.points.some((p) => flow.seenAt.includes(p))) return true
  if (loggedForwarding(h, ends)) return true
  return (
    interfaceToward(h, ends.src) !== undefined &&
    interfaceToward(h, ends.farDst) !== undefined &&
    interfaceToward(h, ends.src) !== interfaceToward(h, ends.farDst)
  )
}

/**
 * Returns whether the host's log shows it forwarding a packet between the flow's ends (either
 * way, before or after NAT).
 */
function loggedForwarding(h: HostEvidence, ends: FlowEnds): boolean {
  const pairs = forwardedPairs(h)
  if (pairs.size === 0) return false
  const a = [normalizeAddress(ends.src), normalizeAddress(ends.farSrc)]
  const b = [normalizeAddress(ends.dst), normalizeAddress(ends.farDst)]
  return a.some((x) => b.some((y) => pairs.has(pairKey(x, y))))
}

/**
 * The address pairs of the packets a host's log shows it forwarding (IN= and OUT= both set),
 * each pair in both orders: one pass over the log, not one per flow.
 */
const forwardedPairs = perHost(
  (h) => h.logs.length,
  (h) => {
    const set = new Set<string>()
    for (const e of h.logs) {
      const p = e.packet
      if (!p || p.in === '' || p.out === '') continue
      const s = normalizeAddress(p.src)
      const d = normalizeAddress(p.dst)
      set.add(pairKey(s, d))
      set.add(pairKey(d, s))
    }
    return set
  }
)

/**
 * A host's own address on the link it shares with `addr`: the address of one of its interfaces
 * (not loopback) whose connected prefix holds `addr`.
 */
export function addressOnLink(h: HostEvidence, addr: string): string | undefined {
  const a = parseCidr(addr)
  if (!a) return undefined
  const full = a.version === 4 ? 32 : 128
  for (const i of h.ipAddr?.value.interfaces ?? []) {
    if (i.name === 'lo') continue
    for (const x of i.addresses) {
      const prefix = parseCidr(`${x.address}/${x.prefixLen}`)
      if (prefix && prefix.version === a.version && prefix.bits > 0 && prefix.bits < full)
        if (inCidr(a, prefix)) return normalizeAddress(x.address)
    }
  }
  return undefined
}

/** A map key for an ordered pair of normalised addresses. */
const pairKey = (x: string, y: string): string => `${x} ${y}`

/** What a route lookup knows of the packet besides its destination (what `ip rule` selects by). */
export interface RouteQuery {
  /** The packet's source address. */
  src?: string
  /** The interface it came in by; absent for the host's own packets. */
  iif?: string
  /** Its mark when routed; absent: no mark (0). */
  mark?: number
  /** Ignore the routing policy: the main table's answer. */
  mainOnly?: boolean
}

/** Where a host's routing sends a packet, and why. */
export interface RouteChoice {
  /** The route taken; absent for a connected prefix `ip addr` alone gives, or a rule's ending. */
  route?: Route
  /** The snapshot holding the route (or the rule). */
  file?: string
  /** The interface the packet leaves by. */
  dev?: string
  /** The table the route is in ('main' for the main table). */
  table: string
  /** unicast, or what ends the packet: a route's or a rule's unreachable, prohibit, blackhole. */
  type: string
  /** The routing policy rule that chose the table, when one other than the main table's did. */
  rule?: { rule: IpRule; file: string }
  /** A rule before it whose selector the lookup could not test (uidrange, tos ...) was passed over. */
  uncertain: boolean
}

/**
 * Returns the interface a host reaches an address through: the one with a
 * connected prefix holding it, else the device of the most specific route,
 * else undefined when the host's facts do not say. With `ip rule` snapshots
 * the routing policy picks the table, by the packet's source, in interface
 * and mark as far as `q` gives them.
 */
export function interfaceToward(h: HostEvidence, addr: string, q?: RouteQuery): string | undefined {
  return lookupRoute(h, addr, q)?.dev
}

/**
 * The route a host takes to an address: longest prefix, then lowest metric, in the table its
 * routing policy picks (the main table without `ip rule` snapshots).
 */
export function routeTo(
  h: HostEvidence,
  addr: string,
  q?: RouteQuery
): { route: Route; file: string } | undefined {
  const c = lookupRoute(h, addr, q)
  return c?.route && c.file !== undefined ? { route: c.route, file: c.file } : undefined
}

/**
 * The kernel's route lookup (fib_rules_lookup, then the table's longest prefix match): the
 * rules in priority order, each whose selector fits trying its table until one gives a route;
 * `goto` skips ahead, `nop` does nothing, unreachable / prohibit / blackhole end the packet.
 */
export function lookupRoute(
  h: HostEvidence,
  addr: string,
  q: RouteQuery = {}
): RouteChoice | undefined {
  const a = parseCidr(addr)
  if (!a) return undefined
  const rules = q.mainOnly ? [] : policyRules(h, a.version)
  if (rules.length === 0) return bestInTable(h, 'main', addr, a, undefined, false)
  let uncertain = false
  for (let i = 0; i < rules.length; i++) {
    const { rule, file } = rules[i]
    const fits = ruleFits(rule, a, q)
    if (fits === undefined) uncertain = true
    if (!fits) continue
    const act = rule.action
    if (act.kind === 'nop') continue
    if (act.kind === 'goto') {
      const to = rules.findIndex((r) => r.rule.priority >= act.priority)
      if (to <= i) break
      i = to - 1
      continue
    }
    const chosen = isDefaultRule(rule) ? undefined : { rule, file }
    if (act.kind !== 'lookup')
      return { file, table: '', type: act.kind, rule: { rule, file }, uncertain }
    const found = bestInTable(h, act.table, addr, a, chosen, uncertain)
    if (!found) continue
    const route = found.route
    // Only a route the lookup succeeds with is suppressed: an unreachable, prohibit or blackhole
    // route ends the lookup with its error whatever its prefix (fib_rules_lookup).
    if (
      route &&
      found.type === 'unicast' &&
      rule.suppressPrefixLength !== undefined &&
      route.prefixLen <= rule.suppressPrefixLength
    )
      continue
    return found
  }
  return undefined
}

/** How a router routes a flow's packet it forwards, and what the lookup was asked. */
export interface ForwardRoute {
  /** The address the packet goes to. */
  toward: string
  /** The interface it comes in by (the one toward where it comes from). */
  iif: string | undefined
  query: RouteQuery
  /** The route taken; undefined when the host's facts do not say. */
  choice: RouteChoice | undefined
}

/**
 * How a router routes a flow's packet it forwards: the opening direction's (back false) toward
 * the far end, a reply's toward the opener, each looked up as the kernel does for a packet that
 * came in by the interface toward its source.
 */
export function forwardRoute(h: HostEvidence, ends: FlowEnds, back: boolean): ForwardRoute {
  const toward = back ? ends.src : ends.farDst
  const iif = interfaceToward(h, back ? ends.farDst : ends.src)
  const query = forwardQuery(h, ends, back, iif)
  return { toward, iif, query, choice: lookupRoute(h, toward, query) }
}

/**
 * The route query of a flow's packet a router forwards: the opening direction's from the
 * opener, a reply's from the far side; its in interface; and, where the host routes by mark,
 * the mark its prerouting rules give the packet.
 */
function forwardQuery(
  h: HostEvidence,
  ends: FlowEnds,
  back: boolean,
  iif: string | undefined
): RouteQuery {
  const q: RouteQuery = { src: back ? ends.farDst : ends.src, iif }
  if (!h.ipRules.some((s) => s.value.rules.some((r) => r.fwmark))) return q
  q.mark = routingMark(h, ends, back, iif)
  return q
}

/** The mark the host's rulesets give a forwarded packet of the flow by the time it is routed. */
function routingMark(
  h: HostEvidence,
  ends: FlowEnds,
  back: boolean,
  iif: string | undefined
): number | undefined {
  const packet = back
    ? flowPacket(ends.proto ?? 'tcp', ends.farDst, ends.farDport, ends.src, ends.sport, true)
    : flowPacket(ends.proto ?? 'tcp', ends.src, ends.sport, ends.farDst, ends.farDport, false)
  if (!packet) return undefined
  packet.mark = 0
  for (const r of h.rulesets) {
    const w = walkNetfilter(r.value, packet, {
      path: 'forward',
      iif,
      ct: back ? 'established' : 'new',
      local: localAddresses(h)
    })
    if (w.routingMark !== undefined && w.routingMark !== 0) return w.routingMark
  }
  return 0
}

/** The kernel's own rules: local, main and default tables, selecting everything. */
function isDefaultRule(r: IpRule): boolean {
  return (
    !r.not &&
    !r.from &&
    !r.to &&
    !r.fwmark &&
    !r.iif &&
    !r.oif &&
    r.other.length === 0 &&
    r.action.kind === 'lookup' &&
    ['main', 'local', 'default', '254', '255', '253'].includes(r.action.table)
  )
}

/** Whether a rule's selector fits the packet; undefined when a selector cannot be tested. */
function ruleFits(r: IpRule, a: Cidr, q: RouteQuery): boolean | undefined {
  if (r.family !== undefined && r.family !== a.version) return false
  let fits: boolean | undefined = true
  const and = (x: boolean | undefined): void => {
    if (fits === false) return
    fits = x === false ? false : x === undefined ? undefined : fits
  }
  const within = (
    addr: string | undefined,
    p: { addr: string; bits: number }
  ): boolean | undefined => {
    if (addr === undefined) return undefined
    const x = parseCidr(addr)
    const prefix = parseCidr(`${p.addr}/${p.bits}`)
    return x !== undefined && prefix !== undefined && inCidr(x, prefix)
  }
  if (r.from) and(within(q.src, r.from))
  if (r.to) and(inCidr(a, parseCidr(`${r.to.addr}/${r.to.bits}`)!))
  if (r.fwmark)
    and(((q.mark ?? 0) & r.fwmark.mask) >>> 0 === (r.fwmark.value & r.fwmark.mask) >>> 0)
  // A host's own packets come in by the loopback device as far as iif is concerned.
  if (r.iif) and(ifaceFits(r.iif, q.iif ?? 'lo'))
  if (r.oif) and(false)
  if (r.other.length > 0) and(undefined)
  if (fits === undefined) return undefined
  return r.not ? !fits : fits
}

/** `ip rule iif`/`oif` names, with a trailing `+` as a wildcard. */
function ifaceFits(pattern: string, name: string): boolean {
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : pattern === name
}

/** A host's policy rules for one family, in priority order, each with its snapshot. */
function policyRules(h: HostEvidence, version: 4 | 6): { rule: IpRule; file: string }[] {
  const out: { rule: IpRule; file: string }[] = []
  for (const s of h.ipRules)
    for (const rule of s.value.rules) if (rule.family === version) out.push({ rule, file: s.file })
  return out.sort((x, y) => x.rule.priority - y.rule.priority)
}

/**
 * The best route to an address in one table: longest prefix, then a connected prefix (`ip
 * addr`, main table) before a route, then the lowest metric.
 */
function bestInTable(
  h: HostEvidence,
  table: string,
  addr: string,
  a: Cidr,
  rule: RouteChoice['rule'],
  uncertain: boolean
): RouteChoice | undefined {
  const name =
    table === '254' ? 'main' : table === '255' ? 'local' : table === '253' ? 'default' : table
  let best: RouteChoice | undefined
  let bits = -1
  if (name === 'main') {
    for (const i of h.ipAddr?.value.interfaces ?? []) {
      for (const ad of i.addresses) {
        if (i.name === 'lo' && normalizeAddress(ad.address) !== normalizeAddress(addr)) continue
        const prefix = parseCidr(`${ad.address}/${ad.prefixLen}`)
        if (!prefix || prefix.version !== a.version || !inCidr(a, prefix)) continue
        if (!best || prefix.bits > bits) {
          best = { dev: i.name, table: name, type: 'unicast', rule, uncertain }
          bits = prefix.bits
        }
      }
    }
  }
  for (const { route, prefix, file } of tableRoutes(h, name)) {
    if (route.family !== a.version || !prefix || !inCidr(a, prefix)) continue
    const better =
      !best ||
      prefix.bits > bits ||
      (prefix.bits === bits &&
        best.route !== undefined &&
        (route.metric ?? 0) < (best.route.metric ?? 0))
    if (!better) continue
    best = {
      route,
      file,
      dev: route.dev ?? route.nexthops?.[0]?.dev,
      table: name,
      type: route.type,
      rule,
      uncertain
    }
    bits = prefix.bits
  }
  return best
}

/** A host's routes of one table ('main': the main table), each with its prefix and snapshot. */
function* tableRoutes(
  h: HostEvidence,
  table: string
): Generator<{ route: Route; prefix: Cidr | undefined; file: string }> {
  for (const r of h.routes)
    for (const route of r.value.routes) {
      const t = route.table === undefined || route.table === '254' ? 'main' : route.table
      if (t !== table) continue
      const prefix =
        route.dst === 'default'
          ? parseCidr(route.family === 4 ? '0.0.0.0/0' : '::/0')
          : parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/${route.prefixLen}`)
      yield { route, prefix, file: r.file }
    }
}

/**
 * Returns where a host's DNAT rules send the flow's opening packet, if they rewrite it: a packet
 * from elsewhere meets nat prerouting, the host's own connection (it owns the source too) only nat
 * output.
 */
function dnatTarget(
  h: HostEvidence,
  flow: Flow,
  ends: FlowEnds
): { addr: string; port?: number } | undefined {
  const packet = openingPacket(flow, ends)
  if (h.rulesets.length === 0 || !packet) return undefined
  const own = ownsAddress(h, ends.src)
  const iif = own ? undefined : interfaceToward(h, ends.src)
  for (const r of h.rulesets) {
    const dnatTo = quickVerdict(r.value, packet, {
      path: own ? 'output' : 'input',
      iif,
      local: localAddresses(h)
    }).dnatTo
    const to = dnatTo ? natTarget(dnatTo) : undefined
    if (to) return to
  }
  return undefined
}

/** The flow's opening packet as its opener sent it. */
function openingPacket(flow: Flow, ends: FlowEnds): PacketSpec | undefined {
  return flowPacket(flow.proto, ends.src, ends.sport, ends.dst, ends.dport, false)
}

/**
 * A packet of a flow from one end to the other: the opening one (a SYN, a datagram, an echo
 * request) or its answer (a SYN-ACK, a datagram, an echo reply).
 */
function flowPacket(
  proto: string,
  src: string,
  sport: number | undefined,
  dst: string,
  dport: number | undefined,
  reply: boolean
): PacketSpec | undefined {
  const ep = (a: string, p?: number): string =>
    p === undefined ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`
  const what =
    proto === 'tcp'
      ? reply
        ? ' S.'
        : ' S'
      : proto === 'udp'
        ? ''
        : reply
          ? ' echo-reply'
          : ' echo-request'
  const packet = parsePacketSpec(`${proto} ${ep(src, sport)} > ${ep(dst, dport)}${what}`)
  return typeof packet === 'string' ? undefined : packet
}

/**
 * The DNAT rule of a host's own connection would have met had it come from elsewhere: nat
 * prerouting translates packets that arrive, never the host's own, which only nat output sees.
 * Returned when the connection itself met no DNAT (on its output path) and a prerouting one
 * would have sent it on.
 */
export function prerouteOnlyDnat(
  h: HostEvidence,
  flow: Flow,
  ends: FlowEnds
): PrerouteDnat | undefined {
  const packet = openingPacket(flow, ends)
  if (!packet || !ownsAddress(h, ends.src) || !ownsAddress(h, ends.dst)) return undefined
  const local = localAddresses(h)
  for (const r of h.rulesets)
    if (quickVerdict(r.value, packet, { path: 'output', local }).dnatTo) return undefined
  return prerouteDnat(h, flow, ends)
}

/** A DNAT rule a packet meets in nat prerouting: its snapshot, table and step, and its target. */
export interface PrerouteDnat {
  ruleset: FromFile<Ruleset>
  table: Table
  step: TraceStep
  to: string
}

/** The DNAT rule of a host's nat prerouting that the flow's opening packet meets, if any. */
export function prerouteDnat(
  h: HostEvidence,
  flow: Flow,
  ends: FlowEnds
): PrerouteDnat | undefined {
  const packet = openingPacket(flow, ends)
  if (!packet) return undefined
  const local = localAddresses(h)
  for (const r of h.rulesets) {
    const w = walkNetfilter(r.value, packet, { path: 'input', local })
    const step = w.trace.find((t) => t.matched && t.action === 'dnat' && t.hook === 'prerouting')
    const table = step && r.value.tables.find((t) => t.name === step.table)
    if (step && table && w.dnatTo) return { ruleset: r, table, step, to: w.dnatTo }
  }
  return undefined
}

/** Returns the first address and port of a DNAT target (`ADDR[-ADDR][:PORT[-PORT]]`, IPv6 in brackets). */
export function natTarget(to: string): { addr: string; port?: number } | undefined {
  const m = /^\[?([^\]]+?)\]?(?::(\d+)(?:-\d+)?)?$/.exec(to)
  if (!m) return undefined
  const addr = m[1].split('-')[0]
  return { addr: normalizeAddress(addr), port: m[2] !== undefined ? Number(m[2]) : undefined }
}
