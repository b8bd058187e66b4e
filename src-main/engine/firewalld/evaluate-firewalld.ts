import type { PacketSpec } from '../evaluate/packet-spec'
import type { Cidr, CtState } from '../rulesets/model'
import { inCidr, parseCidr } from '../rulesets/parse-address'
import { packetKind, portMatches } from './match-firewalld'
import type { FirewalldConfig, FirewalldDecision, FirewalldVerdict, Policy, Zone } from './model'
import { selectZone } from './select-zone'
import { walkSettings, type SettingsOutcome } from './walk-settings'

/** Where the packet goes through the host, its interfaces and its conntrack state. */
export interface FirewalldPath {
  path: 'input' | 'forward' | 'output'
  iif?: string
  oif?: string
  /** Defaults to the state the packet implies. */
  ct?: CtState
}

const SHORT = { input: 'IN', forward: 'FWD', output: 'OUT' } as const

/**
 * Returns what firewalld (nftables layout: filter_INPUT/FORWARD/OUTPUT,
 * zone dispatch, policies by priority, the zone's pre/log/deny/allow/post
 * chains, the zone target) does with the packet, which setting decides it,
 * the generated chain that holds the deciding rule and the log prefixes it
 * produces.
 */
export function evaluateFirewalld(
  config: FirewalldConfig,
  packet: PacketSpec,
  opts: FirewalldPath
): FirewalldVerdict {
  const ct = opts.ct ?? packet.impliedCt
  const base = `filter_${opts.path.toUpperCase()}`
  const v: FirewalldVerdict = {
    verdict: 'accept',
    decidedBy: { kind: 'builtin', text: '' },
    chain: base,
    logs: [],
    trace: [base],
    uncertain: false,
    notes: []
  }
  const builtin = (verdict: FirewalldVerdict['verdict'], text: string): FirewalldVerdict => {
    v.verdict = verdict
    v.decidedBy = { kind: 'builtin', text }
    v.chain = base
    return v
  }
  if (ct === 'established' || ct === 'related')
    return builtin('accept', 'ct state { established, related } accept')
  const loIf = opts.path === 'output' ? opts.oif : opts.iif
  if (loIf === 'lo')
    return builtin('accept', `${opts.path === 'output' ? 'oifname' : 'iifname'} "lo" accept`)
  if (ct === 'invalid' && opts.path !== 'output') {
    if (logs(config, packet)) v.logs.push({ prefix: 'STATE_INVALID_DROP: ', chain: base })
    return builtin('drop', 'ct state { invalid } drop')
  }
  if (opts.path !== 'input' && config.conf.rfc3964Ipv4 !== false && isRfc3964(packet)) {
    // firewalld logs it for LogDenied=unicast or all, with no pkttype match of its own.
    if (config.conf.logDenied === 'unicast' || config.conf.logDenied === 'all')
      v.logs.push({ prefix: 'RFC3964_IPv4_REJECT: ', chain: base })
    v.rejectWith = 'icmpv6 addr-unreachable'
    return builtin(
      'reject',
      `ip6 daddr { ${RFC3964.join(', ')} } reject with icmpv6 addr-unreachable`
    )
  }
  const ingress =
    opts.path === 'output' ? undefined : selectZone(config, packet, 'ingress', opts.iif)
  const egress = opts.path === 'input' ? undefined : selectZone(config, packet, 'egress', opts.oif)
  if (opts.path !== 'output' && !ingress) {
    v.notes.push('no zone matches and the default zone is not among the zones read')
    v.uncertain = true
    return builtin('reject', 'reject with icmpx admin-prohibited (no zone)')
  }
  v.zone = ingress?.zone
  v.egressZone = egress?.zone
  if (opts.path === 'input') {
    const dnat = forwardPortOf(config.zones.get(ingress?.zone ?? ''), packet)
    if (dnat) {
      v.chain = `nat_PRE_${ingress?.zone}_allow`
      v.decidedBy = dnat
      v.notes.push(
        'DNAT by a forward-port: filter_INPUT accepts `ct status dnat` (or the packet is forwarded)'
      )
      return v
    }
  }
  const inName = ingress?.zone ?? 'HOST'
  const outName = opts.path === 'input' ? 'HOST' : (egress?.zone ?? 'ANY')
  const dispatch = `filter_${SHORT[opts.path]}_${inName}_to_${outName}`
  v.trace.push(`${base}_dispatch`, dispatch)
  for (const step of steps(config, opts.path, inName, outName)) {
    const r = step.run(packet, opts)
    v.trace.push(...r.trace)
    v.logs.push(...r.logs)
    if (r.uncertain.length > 0) {
      v.uncertain = true
      v.notes.push(...r.uncertain)
    }
    if (r.verdict) {
      v.verdict = r.verdict
      v.rejectWith = r.rejectWith
      v.decidedBy = r.decidedBy as FirewalldDecision
      v.chain = r.chain as string
      return v
    }
  }
  if (opts.path === 'output') return builtin('accept', 'no policy decides: filter_OUTPUT accepts')
  const zone = config.zones.get(inName) as Zone
  const t = zone.target
  v.chain = dispatch
  v.decidedBy = { kind: 'target', zone: zone.name, text: `target: ${t}`, ...zone.targetWhere }
  if (egress?.zone && opts.path === 'forward' && config.zones.get(egress.zone)?.masquerade)
    v.notes.push(`masqueraded by zone ${egress.zone} (nat_POST_${egress.zone}_allow)`)
  if (t === 'ACCEPT') return { ...v, verdict: 'accept' }
  if (logs(config, packet))
    v.logs.push({
      prefix: `filter_${SHORT[opts.path]}_${zone.name}_${t === 'DROP' ? 'DROP' : 'REJECT'}: `,
      chain: dispatch
    })
  if (t === 'DROP') return { ...v, verdict: 'drop' }
  return { ...v, verdict: 'reject', rejectWith: rejectAdmin(config, packet) }
}

/** Returns what firewalld's zone and policy targets reject with, by backend and family. */
export function rejectAdmin(config: FirewalldConfig, packet: PacketSpec): string {
  if (config.conf.backend === 'nftables') return 'icmpx admin-prohibited'
  return packet.src.version === 4 ? 'icmp-host-prohibited' : 'icmp6-adm-prohibited'
}

/**
 * IPv6 destinations firewalld rejects in filter_FORWARD and filter_OUTPUT (RFC3964_IPv4=yes):
 * IPv4-compatible and -mapped addresses, and the 6to4 forms (RFC 3964 §5.1) of IPv4 addresses
 * that are never public (firewalld's build_rfc3964_ipv4_rules).
 */
const RFC3964 = [
  '::/96',
  '::ffff:0.0.0.0/96',
  '2002::/24',
  '2002:a00::/24',
  '2002:7f00::/24',
  '2002:ac10::/28',
  '2002:c0a8::/32',
  '2002:a9fe::/32',
  '2002:e000::/19'
]
const RFC3964_CIDRS = RFC3964.map((text) => parseCidr(text) as Cidr)

function isRfc3964(packet: PacketSpec): boolean {
  return packet.dst.version === 6 && RFC3964_CIDRS.some((c) => inCidr(packet.dst, c))
}

interface Step {
  run: (packet: PacketSpec, opts: FirewalldPath) => SettingsOutcome
}

function logs(config: FirewalldConfig, packet: PacketSpec): boolean {
  const ld = config.conf.logDenied
  return ld === 'all' || (ld !== 'off' && packetKind(packet) === ld)
}

/** The policies (and the zone's own settings, at priority 0) the dispatch chain jumps to, in order. */
function steps(
  config: FirewalldConfig,
  path: FirewalldPath['path'],
  from: string,
  to: string
): Step[] {
  const out: { priority: number; step: Step }[] = []
  const fits = (zones: string[], z: string) =>
    zones.includes(z) || (z !== 'HOST' && zones.includes('ANY'))
  for (const p of config.policies.values()) {
    if (p.disabled || !fits(p.ingressZones, from) || !fits(p.egressZones, to)) continue
    out.push({ priority: p.priority, step: policyStep(config, p, path) })
  }
  const zone = config.zones.get(from)
  if (zone && path !== 'output') out.push({ priority: 0, step: zoneStep(config, zone, path) })
  return out.sort((a, b) => a.priority - b.priority).map((x) => x.step)
}

function zoneStep(config: FirewalldConfig, zone: Zone, path: FirewalldPath['path']): Step {
  return {
    run: (packet, opts) => {
      const common = {
        owner: { zone: zone.name },
        rejectAdmin: rejectAdmin(config, packet),
        logDenied: logs(config, packet)
      }
      if (path === 'input')
        return walkSettings(config, zone, packet, {
          ...common,
          chain: `filter_IN_${zone.name}`,
          policyName: `zone_${zone.name}_HOST`,
          icmpCatch:
            zone.target === 'default' || (zone.target === 'ACCEPT' && zone.icmpBlockInversion)
        })
      // Forwarded traffic meets only the zone's intra-zone forward rule in filter_FWD_<zone>_allow.
      const dstIn =
        zone.forward &&
        zone.sources.some((s) => s.addr.kind === 'cidr' && inCidr(packet.dst, s.addr.cidr))
      const fwd = { ...emptyLike(zone), name: zone.name }
      return walkSettings(config, fwd, packet, {
        ...common,
        chain: `filter_FWD_${zone.name}`,
        policyName: `zone_${zone.name}_ANY`,
        icmpCatch: false,
        intraZone: zone.forward
          ? { oifs: zone.interfaces.map((i) => i.name), oif: opts.oif, dstIn }
          : undefined
      })
    }
  }
}

function policyStep(config: FirewalldConfig, p: Policy, path: FirewalldPath['path']): Step {
  return {
    run: (packet) => {
      const chain = `filter_${SHORT[path]}_policy_${p.name}`
      const r = walkSettings(config, p, packet, {
        chain,
        owner: { policy: p.name },
        policyName: p.name,
        icmpCatch: false,
        rejectAdmin: rejectAdmin(config, packet),
        logDenied: logs(config, packet)
      })
      if (r.verdict || p.target === 'CONTINUE') return r
      const d: FirewalldDecision = {
        kind: 'policy-target',
        policy: p.name,
        text: `target: ${p.target}`,
        ...p.targetWhere
      }
      r.decidedBy = d
      r.chain = chain
      if (p.target === 'ACCEPT') r.verdict = 'accept'
      else {
        if (logs(config, packet))
          r.logs.push({ prefix: `filter_${SHORT[path]}_policy_${p.name}_${p.target}: `, chain })
        r.verdict = p.target === 'DROP' ? 'drop' : 'reject'
        if (p.target === 'REJECT') r.rejectWith = rejectAdmin(config, packet)
      }
      return r
    }
  }
}

function emptyLike(zone: Zone): Zone {
  return {
    ...zone,
    services: [],
    ports: [],
    protocols: [],
    sourcePorts: [],
    icmpBlocks: [],
    rules: []
  }
}

function forwardPortOf(zone: Zone | undefined, packet: PacketSpec): FirewalldDecision | undefined {
  if (!zone || packet.src.version !== 4) return undefined
  for (const f of zone.forwardPorts)
    if (portMatches(f.port, packet, 'dport'))
      return {
        kind: 'forward-port',
        zone: zone.name,
        text: `port=${f.port.from}:proto=${f.port.proto}:toport=${f.toPort ?? ''}:toaddr=${f.toAddr ?? ''}`,
        ...f.where
      }
  return undefined
}
