/**
 * A router whose own routing table ends the packet's way: a route of type unreachable (the
 * kernel answers ICMP host unreachable), prohibit (ICMP administratively prohibited) or
 * blackhole (silence) toward the destination. No firewall rule is involved, and none is blamed.
 */

import type { Evidence, Flow } from '../../shared/incident'
import { hostAddresses, type HostEvidence } from './evidence'
import { addressOnLink, forwardRoute, ownsAddress, type FlowRoles } from './host-roles'
import type { Draft } from './decide'

/**
 * Route types that end a packet, and what the kernel answers with (ICMP destination unreachable
 * codes, or none): IPv4's ip_error, IPv6's ip6_pkt_discard (no route) and ip6_pkt_prohibit
 * (administratively prohibited).
 */
const ENDS: Record<string, { answer: string; codes: number[]; codes6: number[] }> = {
  unreachable: { answer: 'ICMP host unreachable', codes: [0, 1], codes6: [0] },
  prohibit: { answer: 'ICMP administratively prohibited', codes: [9, 10, 13], codes6: [1] },
  blackhole: { answer: 'nothing', codes: [], codes6: [] }
}

/** A route of one of those types the flow's opening packet meets at a router, as a finding. */
export function routeDraft(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  const dst = roles.ends.farDst
  for (const h of roles.routers) {
    const found = forwardRoute(h, roles.ends, false).choice
    if (!found) continue
    const end = ENDS[found.type]
    if (!end || !consistent(flow, dst.includes(':') ? end.codes6 : end.codes, h)) continue
    const name = h.name || 'the router'
    const route = found.route
    if (!route) {
      // A routing policy rule's own action, before any table.
      const r = found.rule!.rule
      return {
        flow,
        cause: {
          kind: 'unknown',
          host: h.name || undefined,
          file: found.file,
          line: r.line,
          rule: r.text
        },
        evidence: [
          {
            kind: 'host',
            weight: 'proves',
            text: `${name}'s routing policy sends ${dst} to the rule \`${r.text}\`, which ${found.type === 'blackhole' ? 'discards packets without a word' : `answers with ${end.answer}`}`,
            file: found.file,
            line: r.line
          },
          ...seen
        ],
        confidence: 0.8,
        explanation: `${name}'s routing policy has \`${r.text}\`: packets to ${dst} it selects end there, ${found.type === 'blackhole' ? 'discarded without any answer' : `answered with ${end.answer}`}, before any routing table or firewall rule on the way out sees them. It is routing, not the firewall: remove the rule (or narrow it) if ${dst} should be reachable.`,
        fix: `ip ${dst.includes(':') ? '-6 ' : ''}rule del priority ${r.priority}`
      }
    }
    const file = found.file!
    const prefix = route.dst === 'default' ? 'default' : route.dst
    const table = found.table !== 'main' ? ` table ${found.table}` : ''
    const text = `${route.type} ${prefix}${table}`
    // The host that holds the destination, reached on a link of the router's: the route to put
    // in place of the one that ends the packets (removing it alone may leave no route at all).
    const owner = roles.server && ownsAddress(roles.server, dst) ? roles.server : undefined
    const via = owner ? neighbourAddress(h, owner, dst.includes(':') ? 6 : 4) : undefined
    const toward = owner && via ? { host: owner.name || dst, via } : undefined
    return {
      flow,
      cause: {
        kind: 'unknown',
        host: h.name || undefined,
        file,
        line: route.line,
        rule: text
      },
      evidence: [
        {
          kind: 'host',
          weight: 'proves',
          text: `${name}'s routing table sends ${dst} to a route of type ${route.type} (\`${text}\`), which ${route.type === 'blackhole' ? 'discards packets without a word' : `answers with ${end.answer}`}`,
          file,
          line: route.line
        },
        ...seen
      ],
      confidence: 0.8,
      explanation: `${name}'s routing table has \`${text}\`: packets to ${dst} end there, ${route.type === 'blackhole' ? 'discarded without any answer' : `answered with ${end.answer}`}, before any firewall rule on the way out sees them. It is routing, not the firewall: ${toward ? `replace it with a route to ${toward.host} (${toward.via}), which holds ${dst}, as the fix does` : `remove the route (or replace it with one toward ${dst}) if ${dst} should be reachable`}.`,
      fix: toward ? `ip route replace ${prefix}${table} via ${toward.via}` : `ip route del ${text}`
    }
  }
  return undefined
}

/** An address of `other` (of one family, not link-local) on a link `h` has. */
function neighbourAddress(
  h: HostEvidence,
  other: HostEvidence,
  version: 4 | 6
): string | undefined {
  for (const addr of hostAddresses(other).keys()) {
    if (/^fe[89ab]/i.test(addr) || addr.includes(':') !== (version === 6)) continue
    if (addressOnLink(h, addr) !== undefined) return addr
  }
  return undefined
}

/** Whether the flow ended as such a route ends packets: its ICMP code, or no answer at all. */
function consistent(flow: Flow, codes: number[], h: HostEvidence): boolean {
  if (codes.length === 0) return ['syn-timeout', 'unanswered'].includes(flow.outcome)
  if (flow.outcome !== 'icmp-unreachable' || !flow.icmp) return false
  // A destination unreachable (not a time exceeded) from the router itself, with the route's code.
  const unreachable = flow.icmp.from.includes(':') ? 1 : 3
  return (
    flow.icmp.type === unreachable &&
    codes.includes(flow.icmp.code) &&
    ownsAddress(h, flow.icmp.from)
  )
}
