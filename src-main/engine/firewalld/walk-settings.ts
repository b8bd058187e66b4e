import type { PacketSpec } from '../evaluate/packet-spec'
import {
  icmpMatches,
  portMatches,
  protocolMatches,
  richRuleMatches,
  serviceMatches
} from './match-firewalld'
import type { FirewallSettings, FirewalldConfig, FirewalldDecision, RichRule } from './model'
import { formatPortProto } from './parse-values'

/** What walking one zone's or policy's chains found: a decision, or nothing (fall through). */
export interface SettingsOutcome {
  verdict?: 'accept' | 'drop' | 'reject'
  rejectWith?: string
  decidedBy?: FirewalldDecision
  chain?: string
  logs: { prefix: string; chain: string }[]
  trace: string[]
  uncertain: string[]
}

/** How the settings are placed: the base chain name and who owns them. */
export interface SettingsPlace {
  /** e.g. `filter_IN_public` or `filter_IN_policy_allow-host-ipv6`. */
  chain: string
  owner: { zone: string } | { policy: string }
  /** The policy name firewalld uses in ICMP_BLOCK log prefixes (`zone_public_HOST`, `foobar`). */
  policyName: string
  /** Adds the ICMP catch rule after the sub-chains (zones whose target is not DROP/REJECT). */
  icmpCatch: boolean
  /** Intra-zone forwarding: the interfaces and sources of the zone, accepted as egress in `_allow`. */
  intraZone?: { oifs: string[]; oif?: string; dstIn: boolean }
  rejectAdmin: string
  logDenied: boolean
}

/**
 * Walks a zone's or policy's generated chains in firewalld's order: `_pre`
 * (rich rules priority < 0), `_log`, `_deny` (icmp-blocks, reject/drop rich
 * rules), `_allow` (services, ports, source ports, inverted icmp-blocks, accept
 * rich rules, protocols), `_post` (priority > 0), then the ICMP catch rule.
 */
export function walkSettings(
  config: FirewalldConfig,
  s: FirewallSettings,
  packet: PacketSpec,
  place: SettingsPlace
): SettingsOutcome {
  const out: SettingsOutcome = { logs: [], trace: [place.chain], uncertain: [] }
  const base = { ...place.owner }
  const decide = (
    verdict: SettingsOutcome['verdict'],
    chain: string,
    d: Omit<FirewalldDecision, 'zone' | 'policy'>,
    rejectWith?: string
  ): SettingsOutcome => {
    out.verdict = verdict
    out.chain = chain
    out.decidedBy = { ...base, ...d }
    if (rejectWith) out.rejectWith = rejectWith
    return out
  }
  const uncertain = (why: string | undefined): void => {
    if (why && !out.uncertain.includes(why)) out.uncertain.push(why)
  }
  // A priority-0 rule's log sits in _log, where every matching rule logs whether or not its
  // action is reached later; rules of other priorities log just before their action.
  const rich = (
    rules: RichRule[],
    chain: string,
    logHere: boolean
  ): SettingsOutcome | undefined => {
    for (const r of rules) {
      const m = richRuleMatches(config, r, packet)
      uncertain(m.uncertain)
      if (!m.yes) continue
      if (logHere && r.log) out.logs.push({ prefix: r.log.prefix ?? '', chain })
      const a =
        r.action ?? (r.element.kind === 'icmp-block' ? { kind: 'reject' as const } : undefined)
      if (!a || a.kind === 'mark') continue
      const at = {
        kind: 'rich-rule' as const,
        text: r.text,
        file: r.where.file,
        line: r.where.line
      }
      if (a.kind === 'reject') {
        const type = 'type' in a && a.type ? a.type : undefined
        const how =
          r.element.kind === 'icmp-block' && !type ? place.rejectAdmin : rejectType(type, packet)
        return decide('reject', chain, at, how)
      }
      return decide(a.kind === 'accept' ? 'accept' : 'drop', chain, at)
    }
    return undefined
  }
  const byPriority = (pick: (p: number) => boolean) =>
    s.rules.filter((r) => pick(r.priority)).sort((a, b) => a.priority - b.priority)
  const at0 = s.rules.filter((r) => r.priority === 0)
  const isDeny = (r: RichRule) =>
    r.action?.kind === 'reject' ||
    r.action?.kind === 'drop' ||
    (!r.action && r.element.kind === 'icmp-block')

  out.trace.push(`${place.chain}_pre`)
  const pre = rich(
    byPriority((p) => p < 0),
    `${place.chain}_pre`,
    true
  )
  if (pre) return pre
  const log = `${place.chain}_log`
  out.trace.push(log)
  for (const r of at0.filter((r) => r.log)) {
    const m = richRuleMatches(config, r, packet)
    // The action's rate limit does not hold back the log.
    if (m.uncertain && !r.limited) uncertain(m.uncertain)
    if (m.yes && r.log) out.logs.push({ prefix: r.log.prefix ?? '', chain: log })
  }

  const deny = `${place.chain}_deny`
  out.trace.push(deny)
  if (!s.icmpBlockInversion)
    for (const b of s.icmpBlocks)
      if (icmpMatches(b.name, packet)) {
        if (place.logDenied)
          out.logs.push({ prefix: `filter_${place.policyName}_ICMP_BLOCK: `, chain: deny })
        const d = {
          kind: 'icmp-block' as const,
          text: b.name,
          file: b.where.file,
          line: b.where.line
        }
        return decide('reject', deny, d, place.rejectAdmin)
      }
  const denied = rich(at0.filter(isDeny), deny, false)
  if (denied) return denied

  const allow = `${place.chain}_allow`
  out.trace.push(allow)
  const allowed = allowStep(config, s, packet, place)
  if (allowed) return decide('accept', allow, allowed)
  const richAllow = rich(
    at0.filter((r) => r.action?.kind === 'accept'),
    allow,
    false
  )
  if (richAllow) return richAllow
  for (const p of s.protocols)
    if (protocolMatches(p.value, packet))
      return decide('accept', allow, {
        kind: 'protocol',
        text: p.value,
        file: p.where.file,
        line: p.where.line
      })

  out.trace.push(`${place.chain}_post`)
  const post = rich(
    byPriority((p) => p > 0),
    `${place.chain}_post`,
    true
  )
  if (post) return post

  if (place.icmpCatch && (packet.proto === 'icmp' || packet.proto === 'icmpv6')) {
    const text = `icmp-block-inversion: ${s.icmpBlockInversion ? 'yes' : 'no'}`
    const d = {
      kind: 'icmp-block-inversion' as const,
      text,
      file: s.where.file,
      line: s.where.line
    }
    if (!s.icmpBlockInversion) return decide('accept', place.chain, d)
    if (place.logDenied)
      out.logs.push({ prefix: `filter_${place.policyName}_ICMP_BLOCK: `, chain: place.chain })
    return decide('reject', place.chain, d, place.rejectAdmin)
  }
  return out
}

/** Returns what nft sends for a rich rule's `reject [type=...]`. */
export function rejectType(type: string | undefined, packet: PacketSpec): string {
  const v6 = packet.src.version === 6
  if (!type) return v6 ? 'icmpv6 port-unreachable' : 'icmp port-unreachable'
  const known = REJECT_TYPES[type]
  if (known) return known
  // A name firewalld does not list (a newer version's): its own words, in the packet's family.
  const m = /^icmp6?-(.*)$/.exec(type)
  const name = (m ? m[1] : type).replace(/^adm-/, 'admin-')
  return `${type.startsWith('icmp6') || (!type.startsWith('icmp') && v6) ? 'icmpv6' : 'icmp'} ${name}`
}

/**
 * firewalld's rich rule reject types, short aliases included, and the nft reject each becomes
 * (firewalld's nftables.py, _reject_types_fragment; iptables' REJECT reads the same names).
 */
const REJECT_TYPES: Record<string, string> = {
  'icmp-host-prohibited': 'icmp host-prohibited',
  'host-prohib': 'icmp host-prohibited',
  'icmp-net-prohibited': 'icmp net-prohibited',
  'net-prohib': 'icmp net-prohibited',
  'icmp-admin-prohibited': 'icmp admin-prohibited',
  'admin-prohib': 'icmp admin-prohibited',
  'icmp6-adm-prohibited': 'icmpv6 admin-prohibited',
  'adm-prohibited': 'icmpv6 admin-prohibited',
  'icmp-net-unreachable': 'icmp net-unreachable',
  'net-unreach': 'icmp net-unreachable',
  'icmp-host-unreachable': 'icmp host-unreachable',
  'host-unreach': 'icmp host-unreachable',
  'icmp-port-unreachable': 'icmp port-unreachable',
  'icmp6-port-unreachable': 'icmpv6 port-unreachable',
  'port-unreach': 'icmpx port-unreachable',
  'icmp-proto-unreachable': 'icmp prot-unreachable',
  'proto-unreach': 'icmp prot-unreachable',
  'icmp6-addr-unreachable': 'icmpv6 addr-unreachable',
  'addr-unreach': 'icmpv6 addr-unreachable',
  'icmp6-no-route': 'icmpv6 no-route',
  'no-route': 'icmpv6 no-route',
  'tcp-reset': 'tcp reset',
  'tcp-rst': 'tcp reset'
}

function allowStep(
  config: FirewalldConfig,
  s: FirewallSettings,
  packet: PacketSpec,
  place: SettingsPlace
): Omit<FirewalldDecision, 'zone' | 'policy'> | undefined {
  for (const svc of s.services) {
    const via = serviceMatches(config, svc.name, packet)
    if (via) return { kind: 'service', text: svc.name, file: svc.where.file, line: svc.where.line }
  }
  for (const p of s.ports)
    if (portMatches(p.port, packet, 'dport'))
      return { kind: 'port', text: formatPortProto(p.port), file: p.where.file, line: p.where.line }
  for (const p of s.sourcePorts)
    if (portMatches(p.port, packet, 'sport'))
      return {
        kind: 'source-port',
        text: formatPortProto(p.port),
        file: p.where.file,
        line: p.where.line
      }
  if (s.icmpBlockInversion)
    for (const b of s.icmpBlocks)
      if (icmpMatches(b.name, packet))
        return { kind: 'icmp-block', text: b.name, file: b.where.file, line: b.where.line }
  const iz = place.intraZone
  if (
    iz &&
    ((iz.oif !== undefined && iz.oifs.some((o) => ifaceMatches(o, iz.oif as string))) || iz.dstIn)
  )
    return { kind: 'forward', text: 'forward: yes', file: s.where.file, line: s.where.line }
  return undefined
}

/** Returns whether a firewalld interface name (`eth+` is a wildcard) names the interface. */
export function ifaceMatches(pattern: string, iface: string): boolean {
  return pattern.endsWith('+') ? iface.startsWith(pattern.slice(0, -1)) : pattern === iface
}
