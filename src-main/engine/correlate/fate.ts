/**
 * A flow's simulated fate in one line: where the snapshots stop its opening
 * packet, its reply or (for a stalled flow) the ICMP error that would fix
 * it; or `accept`. What-if compares these before and after a change.
 */

import { lostInside, reversePathDrop } from './crossing'
import type { Flow } from '../../shared/incident'
import { sysctlFact, type EvidenceSet } from './evidence'
import { flowRoles, interfaceToward, type FlowRoles } from './host-roles'
import {
  forwardHops,
  openingPacket,
  replyPacket,
  returnHops,
  simPacket,
  walkPath,
  type Hop,
  type SimPacket,
  type Walk
} from './simulate'

/** Returns where the flow's packets are stopped, in words, or 'accept'. */
export function simulatedFate(flow: Flow, ev: EvidenceSet): string {
  const roles = flowRoles(flow, ev)
  const v6 = flow.src.includes(':')
  for (const r of roles.routers) {
    const fwd = sysctlFact(r, v6 ? 'ipv6Forwarding' : 'ipv4Forwarding')
    if (fwd && fwd.value === false) return `not forwarded by ${r.name}`
    const x = lostInside(flow, r, roles)
    if (x && reversePathDrop(x))
      return `${x.what.replace(/^the /, '')}: dropped by ${r.name}'s reverse-path filter`
  }
  const fwd = walkPath(forwardHops(roles), (h) => openingPacket(flow, h))
  if (fwd.blocked) return where(fwd.blocked)
  const back = walkPath(returnHops(roles), (h) => replyPacket(flow, h))
  if (back.blocked) return where(back.blocked)
  if (flow.outcome === 'stalled') {
    const icmp = icmpErrorPath(flow, roles)
    if (icmp) {
      const w = walkPath(icmp.hops, () => icmp.sim)
      if (w.blocked) return where(w.blocked)
    }
  }
  return 'accept'
}

function where(w: Walk): string {
  const d = w.result.decidedBy
  const at = d
    ? d.kind === 'policy'
      ? `${d.table} ${d.chain} policy`
      : `${d.table} ${d.chain} line ${d.line ?? '?'}`
    : 'no rule'
  return `${w.sim.what}: ${w.result.verdict} at ${w.hop.host.name || 'host'} ${at}`
}

/**
 * Returns the way an ICMP frag-needed / packet-too-big would travel to the
 * sender of a stalled flow's big segments: out of the first router, through
 * the others, into the sender.
 */
export function icmpErrorPath(
  flow: Flow,
  roles: FlowRoles
): { hops: Hop[]; sim: SimPacket; senderAddr: string } | undefined {
  const d = flow.data
  if (!d || d.stuckPayload === undefined) return undefined
  const e = roles.ends
  const toServer = d.stuckFrom === 'responder'
  const sender = toServer ? roles.server : roles.client
  const senderAddr = toServer ? e.farDst : e.src
  const v6 = senderAddr.includes(':')
  const routers = toServer ? [...roles.routers].reverse() : roles.routers
  const origin =
    flow.icmp?.from ?? routerAddress(routers[0], senderAddr) ?? (toServer ? e.src : e.farDst)
  const spec = v6
    ? `icmpv6 ${origin} > ${senderAddr} packet-too-big`
    : `icmp ${origin} > ${senderAddr} frag-needed`
  const sim = simPacket(spec, `the ICMP ${v6 ? 'packet-too-big' : 'frag-needed'}`, 'related')
  if (!sim) return undefined
  const hops: Hop[] = []
  const [first, ...others] = routers
  if (first)
    hops.push({
      host: first,
      ends: e,
      role: 'router',
      path: 'output',
      oif: interfaceToward(first, senderAddr)
    })
  for (const r of others)
    hops.push({
      host: r,
      ends: e,
      role: 'router',
      path: 'forward',
      iif: interfaceToward(r, origin),
      oif: interfaceToward(r, senderAddr)
    })
  if (sender)
    hops.push({
      host: sender,
      ends: e,
      role: toServer ? 'server' : 'client',
      path: 'input',
      iif: interfaceToward(sender, origin)
    })
  return { hops, sim, senderAddr }
}

function routerAddress(
  r: FlowRoles['routers'][number] | undefined,
  toward: string
): string | undefined {
  if (!r?.ipAddr) return undefined
  const dev = interfaceToward(r, toward)
  const i = r.ipAddr.value.interfaces.find((x) => x.name === dev)
  const fam = toward.includes(':') ? 6 : 4
  return i?.addresses.find((a) => a.family === fam && a.scope !== 'link')?.address
}
