/**
 * Which host is which in a conversation: the one that opened it (client),
 * the one it was addressed to (server), and the hosts that forwarded it
 * (routers). Known from each host's `ip addr` snapshot, else from its own
 * logs and capture points.
 */

import type { Flow } from '../../shared/incident'
import { normalizeAddress } from '../hostfacts/address'
import type { Route } from '../hostfacts/read-ip-route'
import type { Cidr } from '../rulesets/model'
import { parsePacketSpec } from '../evaluate/packet-spec'
import { inCidr, parseCidr } from '../rulesets/parse-address'
import { hostAddresses, localAddresses, type EvidenceSet, type HostEvidence } from './evidence'
import { bridgeCrossing, type BridgeCrossing } from './bridge'
import { perHost } from './host-memo'
import { quickVerdict } from './quick-verdict'

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
    farDport: last?.dport ?? flow.dport
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
  if (h.points.some((p) => flow.seenAt.includes(p))) return true
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

/** A map key for an ordered pair of normalised addresses. */
const pairKey = (x: string, y: string): string => `${x} ${y}`

/**
 * Returns the interface a host reaches an address through: the one with a
 * connected prefix holding it, else the device of the most specific route,
 * else undefined when the host's facts do not say.
 */
export function interfaceToward(h: HostEvidence, addr: string): string | undefined {
  const a = parseCidr(addr)
  if (!a) return undefined
  let best: { bits: number; dev: string } | undefined
  const consider = (prefix: Cidr | undefined, dev: string | undefined): void => {
    if (!prefix || !dev || prefix.version !== a.version || !inCidr(a, prefix)) return
    if (!best || prefix.bits > best.bits) best = { bits: prefix.bits, dev }
  }
  for (const i of h.ipAddr?.value.interfaces ?? []) {
    for (const ad of i.addresses) {
      if (i.name === 'lo' && normalizeAddress(ad.address) !== normalizeAddress(addr)) continue
      consider(parseCidr(`${ad.address}/${ad.prefixLen}`), i.name)
    }
  }
  for (const { route, prefix } of mainRoutes(h))
    consider(prefix, route.dev ?? route.nexthops?.[0]?.dev)
  return best?.dev
}

/** A host's routes of the main table, each with the prefix it covers and its snapshot. */
export function* mainRoutes(
  h: HostEvidence
): Generator<{ route: Route; prefix: Cidr | undefined; file: string }> {
  for (const r of h.routes)
    for (const route of r.value.routes) {
      if (route.table !== undefined && route.table !== 'main') continue
      const prefix =
        route.dst === 'default'
          ? parseCidr(route.family === 4 ? '0.0.0.0/0' : '::/0')
          : parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/${route.prefixLen}`)
      yield { route, prefix, file: r.file }
    }
}

/** The main table's route to an address: longest prefix, then lowest metric. */
export function routeTo(h: HostEvidence, addr: string): { route: Route; file: string } | undefined {
  const a = parseCidr(addr)
  if (!a) return undefined
  let best: { route: Route; file: string; bits: number } | undefined
  for (const { route, prefix, file } of mainRoutes(h)) {
    if (route.family !== a.version || !prefix || !inCidr(a, prefix)) continue
    const better =
      !best ||
      prefix.bits > best.bits ||
      (prefix.bits === best.bits && (route.metric ?? 0) < (best.route.metric ?? 0))
    if (better) best = { route, file, bits: prefix.bits }
  }
  return best && { route: best.route, file: best.file }
}

/** Returns where a host's DNAT rules send the flow's opening packet, if they rewrite it. */
function dnatTarget(
  h: HostEvidence,
  flow: Flow,
  ends: FlowEnds
): { addr: string; port?: number } | undefined {
  if (h.rulesets.length === 0) return undefined
  const ep = (a: string, p?: number): string =>
    p === undefined ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`
  const what = flow.proto === 'tcp' ? ' syn' : flow.proto === 'udp' ? '' : ' echo-request'
  const packet = parsePacketSpec(
    `${flow.proto} ${ep(ends.src, ends.sport)} > ${ep(ends.dst, ends.dport)}${what}`
  )
  if (typeof packet === 'string') return undefined
  const iif = interfaceToward(h, ends.src)
  for (const r of h.rulesets) {
    const dnatTo = quickVerdict(r.value, packet, {
      path: 'input',
      iif,
      local: localAddresses(h)
    }).dnatTo
    const to = dnatTo ? natTarget(dnatTo) : undefined
    if (to) return to
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
