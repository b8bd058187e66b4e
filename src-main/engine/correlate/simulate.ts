/**
 * Walks a flow's packets through the rulesets of the hosts they crossed, in
 * path order: the opener's output, each router's forward, the far host's
 * input — and the replies back the other way.
 */

import type { Flow } from '../../shared/incident'
import { parsePacketSpec, type PacketSpec } from '../evaluate/packet-spec'
import {
  walkNetfilter,
  type PathKind,
  type WalkOptions,
  type WalkResult
} from '../evaluate/walk-netfilter'
import type { CtState, Ruleset } from '../rulesets/model'
import { localAddresses, type FromFile, type HostEvidence } from './evidence'
import { crossesNoBridge } from './bridge'
import { forwardRoute, interfaceToward, type FlowEnds, type FlowRoles } from './host-roles'

/** One host the packet crosses, and how. */
export interface Hop {
  host: HostEvidence
  /** The flow's ends, before and after NAT. */
  ends: FlowEnds
  role: 'client' | 'router' | 'server'
  path: PathKind
  iif?: string
  oif?: string
  /** Path 'bridge': the bridge (iif and oif are its ports) and whether br_netfilter is on. */
  bridge?: string
  brNetfilter?: boolean
}

/** A packet to walk: its SPEC text and the conntrack state it carries. */
export interface SimPacket {
  spec: string
  packet: PacketSpec
  ct: CtState
  /** What it is, in words ("the SYN", "the SYN-ACK"). */
  what: string
}

/** One walk through one snapshot of one host. */
export interface Walk {
  hop: Hop
  ruleset: FromFile<Ruleset>
  sim: SimPacket
  /** How stateful matches were taken (with the above, all it takes to walk it again). */
  stateful: StatefulMode
  result: WalkResult
}

/** How stateful matches are taken in a walk. */
export type StatefulMode = 'unknown' | 'match' | 'miss'

/** Returns the hops of the opening direction (client → routers → server). */
export function forwardHops(roles: FlowRoles): Hop[] {
  const ends = roles.ends
  const hops: Hop[] = []
  if (roles.client)
    hops.push({
      host: roles.client,
      ends,
      role: 'client',
      path: 'output',
      oif: interfaceToward(roles.client, ends.dst, { src: ends.src })
    })
  for (const r of roles.routers) hops.push(routerHop(r, roles, false))
  if (roles.server)
    hops.push({
      host: roles.server,
      ends,
      role: 'server',
      path: 'input',
      iif: interfaceToward(roles.server, ends.farSrc)
    })
  return hops
}

/** Returns the hops of the reply direction (server → routers → client). */
export function returnHops(roles: FlowRoles): Hop[] {
  const ends = roles.ends
  const hops: Hop[] = []
  if (roles.server)
    hops.push({
      host: roles.server,
      ends,
      role: 'server',
      path: 'output',
      oif: interfaceToward(roles.server, ends.farSrc, { src: ends.farDst })
    })
  for (const r of [...roles.routers].reverse()) hops.push(routerHop(r, roles, true))
  if (roles.client)
    hops.push({
      host: roles.client,
      ends,
      role: 'client',
      path: 'input',
      iif: interfaceToward(roles.client, ends.dst)
    })
  return hops
}

/**
 * Returns a router's hop, either way: routed from the interface toward one end to the one
 * toward the other, or bridged between the ports toward them.
 */
export function routerHop(r: HostEvidence, roles: FlowRoles, back: boolean): Hop {
  const ends = roles.ends
  const b = roles.bridged.get(r)
  if (b)
    return {
      host: r,
      ends,
      role: 'router',
      path: 'bridge',
      iif: back ? b.toDst : b.toSrc,
      oif: back ? b.toSrc : b.toDst,
      bridge: b.bridge,
      brNetfilter: b.brNetfilter
    }
  const { iif, choice } = forwardRoute(r, ends, back)
  return { host: r, ends, role: 'router', path: 'forward', iif, oif: choice?.dev }
}

/** Returns a packet to walk from a SPEC, or undefined when the SPEC cannot be built. */
export function simPacket(spec: string, what: string, ct?: CtState): SimPacket | undefined {
  const p = parsePacketSpec(spec)
  if (typeof p === 'string') return undefined
  return { spec, packet: p, ct: ct ?? p.impliedCt, what }
}

/** Returns `ADDR:PORT` (IPv6 in brackets) or the bare address. */
export function endpointText(addr: string, port?: number): string {
  if (port === undefined) return addr
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
}

/**
 * Returns the opening packet of a flow as each hop sees it: routers and the
 * client see the opener's addresses (a router's own NAT rules rewrite them
 * in the walk), the server sees them as translated.
 */
export function openingPacket(flow: Flow, hop: Hop): SimPacket | undefined {
  const e = hop.ends
  const far = hop.role === 'server'
  const src = endpointText(far ? e.farSrc : e.src, far ? e.farSport : e.sport)
  const dst = endpointText(far ? e.farDst : e.dst, far ? e.farDport : e.dport)
  switch (flow.proto) {
    case 'tcp':
      return simPacket(
        `tcp ${src} > ${dst} ${flagsOf(flow, 'syn')}${lengthOf(flow, 'syn')}`,
        'the SYN'
      )
    case 'udp':
      return simPacket(`udp ${src} > ${dst}`, 'the datagram')
    case 'icmp':
      return simPacket(`icmp ${src} > ${dst} echo-request`, 'the echo request')
    case 'icmpv6':
      return flow.neighbourDiscovery
        ? simPacket(`icmpv6 ${src} > ${dst} nd-neighbor-solicit`, 'the neighbour solicitation')
        : simPacket(`icmpv6 ${src} > ${dst} echo-request`, 'the echo request')
  }
}

/**
 * Returns the reply as each hop sees it: the server answers its own view;
 * routers forward it with the server's real address and the opener's
 * original one (conntrack has undone the source NAT before the forward hook);
 * the client sees it from the address it called.
 */
export function replyPacket(flow: Flow, hop: Hop): SimPacket | undefined {
  const e = hop.ends
  let src: string
  let dst: string
  if (hop.role === 'server') {
    src = endpointText(e.farDst, e.farDport)
    dst = endpointText(e.farSrc, e.farSport)
  } else if (hop.role === 'router') {
    src = endpointText(e.farDst, e.farDport)
    dst = endpointText(e.src, e.sport)
  } else {
    src = endpointText(e.dst, e.dport)
    dst = endpointText(e.src, e.sport)
  }
  switch (flow.proto) {
    case 'tcp':
      return simPacket(
        `tcp ${src} > ${dst} ${flagsOf(flow, 'syn-ack')}${lengthOf(flow, 'syn-ack')}`,
        'the SYN-ACK',
        'established'
      )
    case 'udp':
      return simPacket(`udp ${src} > ${dst}`, 'the reply', 'established')
    case 'icmp':
      return simPacket(`icmp ${src} > ${dst} echo-reply`, 'the echo reply', 'established')
    case 'icmpv6':
      return flow.neighbourDiscovery
        ? simPacket(`icmpv6 ${src} > ${dst} nd-neighbor-advert`, 'the neighbour advertisement')
        : simPacket(`icmpv6 ${src} > ${dst} echo-reply`, 'the echo reply', 'established')
  }
}

/**
 * Returns a data segment of the established connection as each hop sees it, from the opener
 * (addressed as the opening packet is) or from the far side (as the reply is), with its facts
 * (` len=N`) when known.
 */
export function dataSegment(
  flow: Flow,
  hop: Hop,
  fromOpener: boolean,
  facts = ''
): SimPacket | undefined {
  if (flow.proto !== 'tcp') return undefined
  const like = fromOpener ? openingPacket(flow, hop) : replyPacket(flow, hop)
  if (!like) return undefined
  const { srcText, dstText, sport, dport } = like.packet
  const what = `the ${fromOpener ? "opener's" : "responder's"} data segment`
  return simPacket(
    `tcp ${endpointText(srcText, sport)} > ${endpointText(dstText, dport)} P.${facts}`,
    what,
    'established'
  )
}

/**
 * The flags of a handshake segment as captured (tcpdump's letters: "SEW" for a SYN asking for
 * ECN), so rules matching on flags see what the kernel saw; its kind's name when plain.
 */
function flagsOf(flow: Flow, what: 'syn' | 'syn-ack'): string {
  return flow.keyPackets?.find((k) => k.what === what)?.tcpFlags ?? what
}

/**
 * Returns ` len=N` for a key packet whose IP length the captures saw (the same at every hop:
 * routing and NAT leave it alone), so rules matching on length are decided, not uncertain.
 */
function lengthOf(flow: Flow, what: 'syn' | 'syn-ack'): string {
  const len = flow.keyPackets?.find((k) => k.what === what)?.len
  return len === undefined ? '' : ` len=${len}`
}

/** Returns the options of a walk of the packet at one hop. */
export function hopOptions(
  hop: Hop,
  sim: SimPacket,
  stateful: StatefulMode = 'unknown'
): WalkOptions {
  const o: WalkOptions = {
    path: hop.path,
    ct: sim.ct,
    iif: hop.iif,
    oif: hop.oif,
    stateful,
    local: localAddresses(hop.host)
  }
  if (hop.path === 'bridge') {
    o.bridge = hop.bridge
    o.brNetfilter = hop.brNetfilter
  } else if (crossesNoBridge(hop.host, hop.path, hop.iif, hop.oif)) o.notBridged = true
  return o
}

/** Returns every applicable snapshot's walk of the packet at one hop, in file order. */
export function walkHop(hop: Hop, sim: SimPacket, stateful: StatefulMode = 'unknown'): Walk[] {
  const out: Walk[] = []
  const options = hopOptions(hop, sim, stateful)
  for (const ruleset of hop.host.rulesets) {
    const result = walkNetfilter(ruleset.value, sim.packet, options)
    // A snapshot with no base chain on these hooks for this family has nothing to say.
    if (result.trace.length === 0) continue
    out.push({ hop, ruleset, sim, stateful, result })
  }
  return out
}

/** Walks packets hop by hop; returns every walk and the first that did not accept. */
export function walkPath(
  hops: Hop[],
  packetAt: (hop: Hop) => SimPacket | undefined,
  stateful: StatefulMode = 'unknown'
): { walks: Walk[]; blocked?: Walk } {
  const walks: Walk[] = []
  for (const hop of hops) {
    const sim = packetAt(hop)
    if (!sim) continue
    for (const w of walkHop(hop, sim, stateful)) {
      walks.push(w)
      if (w.result.verdict !== 'accept') return { walks, blocked: w }
    }
  }
  return { walks }
}
