/**
 * The cause of one failed flow, from the strongest evidence to the weakest:
 * a logged drop located in its snapshot; the evaluator's walk of the flow's
 * packets through the hosts on its way; conntrack's table full; the answer's
 * own character (a host's RST with nothing rejecting: no listener); and,
 * failing all, `unknown` with what is missing to decide.
 */

import type { Cause, CauseKind, Evidence, Flow, Outcome } from '../../shared/incident'
import { FAILED_ORDER } from '../../shared/outcomes'
import { walkNetfilter, type WalkOptions, type WalkResult } from '../evaluate/walk-netfilter'
import { normalizeAddress } from '../hostfacts/address'
import { isListening, type Listener } from '../hostfacts/read-ss'
import type { Route } from '../hostfacts/read-ip-route'
import type { LogEvent } from '../logs/log-event'
import type { Chain, CtState, Rule } from '../rulesets/model'
import { inCidr, parseCidr } from '../rulesets/parse-address'
import { sysctlFact, sysctlValue, type EvidenceSet, type HostEvidence } from './evidence'
import { logEvidence, packetEvidence, walkCause, walkEvidence, decision } from './evidence-items'
import {
  acceptFix,
  ruleIndex,
  chainAt,
  conntrackMaxFix,
  masqueradeFix,
  mssClampFix,
  sourceSet,
  type Allow,
  type FixSite,
  type SourceSet
} from './fix'
import { icmpErrorPath } from './fate'
import { crossingText, lostInside, reversePathDrop, rpFilter, rpFilterFix } from './crossing'
import { routeDraft } from './route-cause'
import { hairpin } from './hairpin'
import { countedSuspect, counterEvidence } from './counters'
import { firewalldLogCause } from './firewalld-log'
import {
  firewalldBlock,
  firewalldCause,
  firewalldEvidence,
  firewalldFixText,
  type FirewalldWalk
} from './firewalld-walk'
import {
  flowEnds,
  flowRoles,
  addressOnLink,
  forwardRoute,
  interfaceToward,
  prerouteDnat,
  prerouteOnlyDnat,
  type PrerouteDnat,
  lookupRoute,
  natTarget,
  ownsAddress,
  routeTo,
  type FlowEnds,
  type FlowRoles
} from './host-roles'
import type { LoggedPacket } from '../logs/log-event'
import type { FlowLog, PlacedEvent } from './log-match'
import { DROP_PREFIX, notAConversation } from './logged-flows'
import { loggedPath, walkLogged } from './logged-walk'
import { baseName, withoutCounters } from './names'
import { answersWith, rejectAnswer } from './reject-answer'
import {
  endpointText,
  forwardHops,
  hopOptions,
  openingPacket,
  replyPacket,
  dataSegment,
  returnHops,
  walkHop,
  walkPath,
  simPacket,
  type Hop,
  type SimPacket,
  type Walk
} from './simulate'

/** Everything a decision may use besides the flow itself. */
export interface DecideContext {
  ev: EvidenceSet
  logs: Map<string, FlowLog[]>
  conntrackFull: PlacedEvent[]
  wrappers: PlacedEvent[]
  selinux: PlacedEvent[]
  flows: Flow[]
}

/** One flow's finding before grouping. */
export interface Draft {
  flow: Flow
  cause: Cause
  evidence: Evidence[]
  confidence: number
  explanation: string
  fix?: string
  missing?: string[]
  alignment?: string
}

/** Failures with a cause to find (a conversation cut by the capture's edges has none). */
const FAILED: ReadonlySet<Outcome> = new Set(FAILED_ORDER.filter((o) => o !== 'incomplete'))

/** Returns the draft finding for a flow, or undefined when the flow did not fail. */
export function decide(flow: Flow, ctx: DecideContext): Draft | undefined {
  const wrapped = tcpWrappers(flow, ctx)
  if (wrapped) return wrapped
  if (notAConversation(flow) || tracerouteProbe(flow)) return undefined
  if (flow.outcome === 'answered') return answeredThenDropped(flow, ctx)
  if (!FAILED.has(flow.outcome)) return undefined
  const roles = flowRoles(flow, ctx.ev)
  const seen = packetEvidence(flow)
  const draft =
    dnatBypassed(flow, ctx, roles, seen) ??
    fromLogs(flow, ctx, roles, seen) ??
    martianDraft(flow, roles, seen) ??
    (flow.outcome === 'stalled' ? stalled(flow, roles, seen) : undefined) ??
    (flow.outcome === 'reset-midstream' ? midstreamReset(flow, roles, seen) : undefined) ??
    answerRefused(flow, roles, seen) ??
    neighbourUnresolved(flow, ctx, roles, seen) ??
    fromWalks(flow, ctx, roles, seen) ??
    routeDraft(flow, roles, seen) ??
    unknown(flow, ctx, roles, seen)
  if (roles.how.some((h) => h.startsWith('assumed')))
    draft.evidence.push({ kind: 'host', weight: 'suggests', text: roles.how.join('; ') })
  repliesToo(draft, roles)
  errorNeverDelivered(draft, roles)
  resetOnTheWay(draft, roles)
  // The cause's own counter, after the walk or log line that named it.
  const counted = counterEvidence(draft.cause, ctx.ev)
  if (counted && !draft.evidence.some((x) => x.kind === 'counter' && x.text === counted.text))
    draft.evidence.splice(Math.min(1, draft.evidence.length), 0, counted)
  insideHost(draft, roles)
  policyRouted(draft, roles)
  return draft
}

/**
 * A router whose routing policy (`ip rule`) sends the flow's packets by another table than the
 * main one: which rule, which route, and where the main table would have sent them. A path
 * that differs from what the main table says is often the failure's real origin (a mark or a
 * source rule steering a port to a path that does not carry it).
 */
function policyRouted(draft: Draft, roles: FlowRoles): void {
  const e = roles.ends
  for (const h of roles.routers) {
    if (roles.bridged.has(h)) continue
    for (const back of [false, true]) {
      const { toward, query: q, choice: c } = forwardRoute(h, e, back)
      if (!c?.rule) continue
      const main = lookupRoute(h, toward, { ...q, mainOnly: true })
      const r = c.rule.rule
      const how = c.route
        ? `table ${c.table}'s \`${routeText(c.route)}\``
        : c.type !== 'unicast'
          ? `its ${c.type} action`
          : `${c.dev ?? 'an interface'}`
      const marked =
        r.fwmark && q.mark ? ` (the mark 0x${q.mark.toString(16)} its rules give the packet)` : ''
      const differs = main?.dev !== c.dev || c.type !== 'unicast'
      if (!back && differs && main?.dev)
        draft.explanation += ` ${h.name || 'The router'} steers the opening packet onto this path by policy routing (\`${r.text}\`); its main table would send it out ${main.dev}.`
      draft.evidence.push({
        kind: 'host',
        weight: 'suggests',
        text: `${h.name || 'the router'} routes ${back ? 'the replies' : 'the opening packet'} to ${toward} by policy: rule \`${r.text}\`${marked} picks ${how}${differs && main?.dev ? `, where the main table would send ${back ? 'them' : 'it'} out ${main.dev}` : ''}`,
        file: c.rule.file,
        line: r.line
      })
    }
  }
}

/**
 * A host's own connection to its DNAT address refused by the host itself: its DNAT rule is in nat
 * prerouting, which translates packets that arrive and never the host's own (those meet nat
 * output only), so the connection stayed on the host, where nothing listens on that port.
 */
function localDnat(flow: Flow, host: HostEvidence, local: PrerouteDnat, seen: Evidence[]): Draft {
  const e = flowEnds(flow)
  const { ruleset, step, to } = local
  const name = host.name || 'the host'
  const dst = endpointText(e.dst, e.dport)
  const proto = flow.proto
  const ports = e.dport !== undefined && (proto === 'tcp' || proto === 'udp')
  const fix = natRuleFix(local, 'output', e.dst, proto, ports ? e.dport : undefined, {
    nft: `dnat to ${to}`,
    iptables: `-j DNAT --to-destination ${to}`
  })
  return {
    flow,
    cause: {
      kind: 'nat',
      system: ruleset.value.system,
      host: host.name || undefined,
      file: ruleset.file,
      table: step.table,
      chain: step.chain,
      line: step.line,
      rule: step.rule
    },
    evidence: [
      {
        kind: 'host',
        weight: 'proves',
        text: `${name}'s DNAT rule for ${dst} is in nat ${step.chain} (prerouting), which the host's own connections never meet; its nat output has none, so ${dst} stayed on ${name}`,
        file: ruleset.file,
        line: step.line
      },
      ...seen
    ],
    confidence: 0.85,
    explanation: `The connection was made on ${name} itself, to its own DNAT address ${dst}. The rule that sends ${dst} to ${to} is in nat ${step.chain}, on the prerouting hook, which sees packets arriving from other hosts only: the host's own packets meet the nat output hook instead, where no rule translates them. So the SYN stayed on ${name}, where nothing listens on ${dst}, and the host refused it. Connections from other hosts are translated as intended. Add the same DNAT to nat output for the host's own connections.`,
    fix
  }
}

/** A route as `ip route` prints it, in short. */
function routeText(r: Route): string {
  const dst = r.dst === 'default' ? 'default' : r.dst
  return [
    r.type !== 'unicast' ? r.type : '',
    dst,
    r.via ? `via ${r.via}` : '',
    r.dev ? `dev ${r.dev}` : ''
  ]
    .filter(Boolean)
    .join(' ')
}

/**
 * A router that captured each of its interfaces on its own, seen to take the lost packet in and
 * never send it on: evidence that the router itself dropped it. When nothing else explained the
 * failure, the router is named; its reverse-path filter, when the sysctl snapshot shows that it
 * drops the packet, is the cause given.
 */
function insideHost(draft: Draft, roles: FlowRoles): void {
  for (const h of roles.routers) {
    const x = lostInside(draft.flow, h, roles)
    if (!x) continue
    const item: Evidence = {
      kind: 'packet',
      weight: 'proves',
      text: crossingText(x),
      time: x.key.time,
      frames: x.key.frames
    }
    if (draft.cause.kind !== 'unknown') {
      draft.evidence.splice(1, 0, item)
      return
    }
    const name = h.name || 'the router'
    const rp = reversePathDrop(x)
    draft.cause.host = h.name || undefined
    draft.evidence.unshift(item)
    if (!rp) {
      draft.explanation = `${name} took ${x.what} in on ${x.inIface} and never sent it on by ${x.outIface}: it was dropped inside ${name}, yet nothing loaded there says why (${h.rulesets.length ? 'its ruleset accepts it' : 'its ruleset was not loaded'}). The ruleset may have changed since the snapshot, or the drop is in routing, not the firewall.`
      return
    }
    const set = rp.setting
    draft.cause.file = set.file
    if (set.line !== undefined) draft.cause.line = set.line
    draft.cause.rule = `${set.key} = ${set.value}`
    draft.evidence.splice(1, 0, {
      kind: 'host',
      weight: 'proves',
      text: `${name}'s ${set.key} is ${set.value} (${rp.mode === 1 ? 'strict' : 'loose'} reverse-path filtering), and its route back to ${x.src} ${rp.back ? `leaves by ${rp.back}, not ${x.inIface}` : 'does not exist'}`,
      file: set.file,
      line: set.line
    })
    const logged = martianOf(h, x.src, x.dst)
    if (logged) draft.evidence.splice(1, 0, martianEvidence(h, logged))
    draft.confidence = 0.8
    draft.explanation = `${name} took ${x.what} in on ${x.inIface} and never sent it on by ${x.outIface}. Its reverse-path filter is ${rp.mode === 1 ? 'strict' : 'loose'} (\`${set.key} = ${set.value}\`) and ${rp.back ? `its route back to ${x.src} leaves by ${rp.back}, not by ${x.inIface} where the packet arrived (asymmetric routing)` : `it has no route back to ${x.src}`}: the kernel drops such packets before any firewall rule sees them. ${rp.back ? 'Make the routes symmetric, or relax the filter to loose mode, as the fix does.' : 'Add a route back to the source, or turn the filter off on that interface, as the fix does.'}`
    draft.fix = rp.fix
    draft.missing = undefined
    return
  }
}

/**
 * A host on the way whose kernel logged the flow's packet (or the ARP request one end needed to
 * send it) as a martian source: its reverse-path filter dropped it, before any firewall rule.
 * The opening packet at a router; the answer, or the responder's ARP for its next hop, when only
 * the answer was lost; the opener's ARP when nothing was answered.
 */
function martianDraft(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  if (!['syn-timeout', 'one-way', 'unanswered', 'icmp-unreachable'].includes(flow.outcome))
    return undefined
  const e = roles.ends
  const oneWay = flow.outcome === 'one-way'
  const hosts = [...roles.routers, ...(roles.server ? [roles.server] : [])]
  for (const h of hosts) {
    const m = oneWay ? martianOf(h, e.farDst, e.src) : martianOf(h, e.src, e.farDst)
    if (!m?.martian) continue
    const dev = m.martian.dev
    const name = h.name || 'the host'
    const { all, setting } = rpFilter(h, dev)
    const what = m.martian.arp
      ? `the ARP requests ${m.martian.src} sent to find ${m.martian.dst}, its next hop${oneWay ? ' for the answer' : ''}`
      : oneWay
        ? 'the answer'
        : 'the opening packet'
    return {
      flow,
      cause: {
        kind: 'unknown',
        host: h.name || undefined,
        file: setting?.file ?? m.file,
        line: setting ? setting.line : m.line,
        rule: setting ? `${setting.key} = ${setting.value}` : m.text.trim()
      },
      evidence: [martianEvidence(h, m), ...seen],
      confidence: 0.85,
      explanation: `${name}'s kernel logged, arriving on ${dev}, ${what} as martian and dropped ${m.martian.arp ? 'them' : 'it'}: its reverse-path filter${setting ? ` (\`${setting.key} = ${setting.value}\`)` : ''} found no route back to ${m.martian.src} by ${dev}${m.martian.arp ? `, so ${m.martian.src} never learnt the link address it needed and ${oneWay ? 'its answer never left it' : 'nothing was sent'}` : ''}. It is routing, not the firewall: make the routes symmetric, or relax the filter to loose mode on ${dev}, as the fix does.`,
      fix: rpFilterFix(dev, all, 2)
    }
  }
  return undefined
}

/**
 * A port forward whose backend answers around the DNAT host: its route back to the client does
 * not go through the host that translated the SYN, so the SYN-ACK leaves with the backend's own
 * address, never translated back, and the client (which called another address) resets it.
 * Both the translated connection (one-way) and the untranslated answers the client saw, as a
 * conversation of their own, are named; the fix makes the DNAT host the backend's way back by
 * masquerading what it forwards there (or the backend's route is corrected).
 */
function dnatBypassed(
  flow: Flow,
  ctx: DecideContext,
  roles: FlowRoles,
  seen: Evidence[]
): Draft | undefined {
  if (flow.outcome !== 'one-way' || flow.proto !== 'tcp') return undefined
  // The untranslated answers of a translated connection: the same client port, the backend's
  // own address and port, and a SYN-ACK but no SYN of their own.
  const original = flow.keyPackets?.some((k) => k.what === 'syn')
    ? undefined
    : ctx.flows.find((f) => {
        const last = f.nat?.views.at(-1)
        return (
          f !== flow &&
          f.src === flow.src &&
          f.sport === flow.sport &&
          last !== undefined &&
          last.dst === flow.dst &&
          last.dport === flow.dport &&
          f.dst !== flow.dst
        )
      })
  const translated = original ?? flow
  const r = original ? flowRoles(original, ctx.ev) : roles
  const e = r.ends
  if (e.farDst === e.dst || !r.server) return undefined
  const front = r.routers.find((h) => ownsAddress(h, e.dst))
  if (!front || !r.server.routes.length) return undefined
  const back = routeTo(r.server, e.src, { src: e.farDst })
  const via = back?.route.via
  if (!back || !via || ownsAddress(front, via)) return undefined
  const name = front.name || 'the DNAT host'
  const server = r.server.name || e.farDst
  const called = endpointText(e.dst, e.dport)
  const real = endpointText(e.farDst, e.farDport)
  const dnat = prerouteDnat(front, translated, e)
  const fix =
    dnat &&
    natRuleFix(dnat, 'postrouting', e.farDst, 'tcp', e.farDport, {
      nft: 'masquerade',
      iptables: '-j MASQUERADE'
    })
  return {
    flow,
    cause: {
      kind: 'nat',
      host: front.name || undefined,
      ...(dnat
        ? {
            system: dnat.ruleset.value.system,
            file: dnat.ruleset.file,
            table: dnat.step.table,
            chain: dnat.step.chain,
            line: dnat.step.line,
            rule: dnat.step.rule
          }
        : {})
    },
    evidence: [
      {
        kind: 'host',
        weight: 'proves',
        text: `${server}'s route back to ${e.src} is \`${routeText(back.route)}\`: via ${via}, not through ${name}, which translated the SYN`,
        file: back.file,
        line: back.route.line
      },
      ...(original
        ? [
            {
              kind: 'packet' as const,
              weight: 'proves' as const,
              text: `these are the answers to ${original.id} (${e.src}:${e.sport} to ${called}, sent on to ${real}): they reached ${e.src} from ${real} untranslated, which it did not call`
            }
          ]
        : []),
      ...seen
    ],
    confidence: 0.85,
    explanation: `${name} translates ${called} to ${real}, but ${server} answers by its own route to ${e.src} (via ${via}), around ${name}: the SYN-ACK never passes the host that could translate it back, so it reaches ${e.src} from ${real}, an address it never called, and the client resets it${original ? ` (${flow.id} is those answers)` : ''}. Make ${name} the backend's way back: masquerade what it forwards to ${real}, as the fix does, or route ${server}'s traffic to ${e.src} through ${name}.`,
    fix
  }
}

/**
 * A rule for the nat chain on `hook` of the snapshot a DNAT rule is in, for packets to `dst` (and
 * `proto` `port`): iptables, or nft in the DNAT rule's table, the chain made first when that
 * table has none on the hook.
 */
function natRuleFix(
  dnat: PrerouteDnat,
  hook: 'output' | 'postrouting',
  dst: string,
  proto: string,
  port: number | undefined,
  action: { nft: string; iptables: string }
): string {
  const { ruleset, table } = dnat
  const system = ruleset.value.system
  if (system !== 'nftables')
    return `${system} -t nat -A ${hook.toUpperCase()} -d ${dst}${port !== undefined ? ` -p ${proto} --dport ${port}` : ''} ${action.iptables}`
  const chain = table.chains.find((c) => c.base?.type === 'nat' && c.base.hook === hook)
  const at = `${table.family} ${table.name}`
  const match = `${dst.includes(':') ? 'ip6' : 'ip'} daddr ${dst}${port !== undefined ? ` ${proto} dport ${port}` : ''}`
  return [
    ...(chain
      ? []
      : [
          `nft add chain ${at} ${hook} '{ type nat hook ${hook} priority ${hook === 'output' ? -100 : 100}; }'`
        ]),
    `nft add rule ${at} ${chain?.name ?? hook} ${match} ${action.nft}`
  ].join('\n')
}

/**
 * A traceroute probe: a datagram to traceroute's ports (33434 on, one port per probe) that got
 * an ICMP answer or none. Routers answering time exceeded, the far host port unreachable and
 * silent hops are the tool at work, not a service failing.
 */
function tracerouteProbe(flow: Flow): boolean {
  return (
    flow.proto === 'udp' &&
    flow.dport !== undefined &&
    flow.dport >= 33434 &&
    flow.dport <= 33534 &&
    (flow.outcome === 'icmp-unreachable' || flow.outcome === 'unanswered')
  )
}

/** A host's kernel line saying it dropped a packet from `src` to `dst` as a martian source. */
function martianOf(h: HostEvidence, src: string, dst: string): LogEvent | undefined {
  const s = normalizeAddress(src)
  const d = normalizeAddress(dst)
  return h.logs.find(
    (e) =>
      e.kind === 'martian' &&
      e.martian?.what === 'source' &&
      e.martian.src === s &&
      (e.martian.dst === d || e.martian.arp === true)
  )
}

/** The evidence item of a martian line. */
function martianEvidence(h: HostEvidence, e: LogEvent): Evidence {
  const m = e.martian!
  return {
    kind: 'log',
    weight: 'proves',
    text: `the kernel on ${h.name || 'the host'} logged ${m.arp ? `an ARP request from ${m.src} (asking for ${m.dst})` : `a packet from ${m.src} to ${m.dst}`} arriving on ${m.dev} as a martian source (${baseName(e.file)} line ${e.line}): its reverse-path filter dropped it`,
    file: e.file,
    line: e.line,
    raw: e.text
  }
}

/**
 * A connection reset mid-stream: the segment the RST answered (the other side's latest data, its
 * length from the captures), walked as an established connection's from its sender toward the
 * side the RST speaks for. A rule that rejects it with a reset is the cause; a rule the walk
 * cannot decide (a payload string, a length it was not given) that would is the likely one. With
 * neither, a RST the far host's own capture saw leave it, with that host's usual TTL, came from
 * the host itself: its application or stack reset the connection, not a firewall.
 */
function midstreamReset(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  const r = flow.rst
  if (!r) return undefined
  const fromOpener = r.by === 'responder'
  const hops = fromOpener ? forwardHops(roles) : returnHops(roles)
  const facts = r.segmentLen !== undefined ? ` len=${r.segmentLen}` : ''
  const path = walkPath(hops, (h) => dataSegment(flow, h, fromOpener, facts))
  const w = path.blocked
  if (w && w.result.verdict === 'reject' && rejectAnswer(w.result.rejectWith ?? '').tcpReset) {
    const kind = classify(w, 'opening')
    const cause = walkCause(w, kind)
    const where = w.hop.host.name ? `On ${w.hop.host.name}, the` : 'The'
    return {
      flow,
      cause,
      evidence: [walkEvidence(w), ...seen],
      confidence: w.result.uncertain ? 0.55 : 0.85,
      explanation: `${where} ${kind === 'policy' ? `${cause.chain} chain's policy` : `rule \`${withoutCounters(cause.rule)}\``} rejects ${w.sim.what} with a TCP reset, in the name of ${fromOpener ? flow.dst : flow.src}: the connection was established, and it is this later segment that ends it. Walked through the snapshot as an established connection's, it stops at ${decision(w)}.`,
      fix: w.result.uncertain ? undefined : fixFor(flow, kind, w)
    }
  }
  const suspect = countedSuspect(flow, path.walks, seen)
  if (suspect) return suspect
  const sender = fromOpener ? roles.server : roles.client
  const rst = flow.keyPackets?.find((k) => k.what === 'rst')
  const sentThere = sender && rst?.seenAt.some((p) => sender.points.includes(p))
  if (!sender || !sentThere || r.usualTtl === undefined || r.ttl !== r.usualTtl) return undefined
  const name = sender.name || (fromOpener ? flow.dst : flow.src)
  return {
    flow,
    cause: { kind: 'unknown', host: sender.name || undefined },
    evidence: [
      ...path.walks.map((x) => walkEvidence(x)),
      {
        kind: 'packet',
        weight: 'suggests',
        text: `${name}'s own capture saw the RST leave it, and it arrived with the TTL of ${name}'s other packets (${r.ttl}${r.ipId !== undefined ? `, IP ID ${r.ipId}` : ''}): sent by ${name}, not forged on the way`,
        time: rst!.time,
        frames: rst!.frames
      },
      ...seen
    ],
    confidence: 0.6,
    explanation: `${name} itself reset the connection: its own capture saw the RST leave it with its usual TTL, and no rule on the way rejects the segment before it. Its application closed the connection abortively (SO_LINGER 0, a crash, or its own protocol check) or its TCP stack refused the segment; look at the application's log on ${name}, not at a firewall.`
  }
}

/**
 * A failure that is a neighbour discovery's: a host on the way asked for the link-layer address
 * of its next hop toward the other end (or of that end itself) and never heard an answer, so it
 * sent nothing on. A router says so with ICMPv6 "address unreachable" (type 1 code 3); a server
 * that cannot find its gateway simply never answers. The discovery's cause is decided for it and
 * given for this flow, with the discovery as evidence.
 */
function neighbourUnresolved(
  flow: Flow,
  ctx: DecideContext,
  roles: FlowRoles,
  seen: Evidence[]
): Draft | undefined {
  if (flow.neighbourDiscovery) return undefined
  const failed = failedDiscoveries(ctx.flows)
  if (failed.length === 0) return undefined
  const e = roles.ends
  // Each host on the way, and the address whose link-layer address it needs to send on.
  const wants: { host: FlowRoles['routers'][number]; toward: string }[] = []
  if (roles.client) wants.push({ host: roles.client, toward: e.dst })
  for (const r of roles.routers)
    wants.push({ host: r, toward: e.farDst }, { host: r, toward: e.src })
  if (roles.server) wants.push({ host: roles.server, toward: e.farSrc })
  const i = flow.icmp
  const fromRouter =
    i !== undefined && i.from.includes(':') && i.type === 1 && i.code === 3 ? i.from : undefined
  for (const { host, toward } of wants) {
    const hop = normalizeAddress(routeTo(host, toward)?.route.via ?? toward)
    const nd = failed.find(
      (f) =>
        normalizeAddress(f.dst) === hop &&
        (ownsAddress(host, f.src) ||
          (fromRouter !== undefined && normalizeAddress(f.src) === normalizeAddress(fromRouter)))
    )
    if (!nd) continue
    const d = discoveryDraft(nd, ctx)
    if (!d) return undefined
    const who = host.name || nd.src
    const said = fromRouter ? `${fromRouter} answered "address unreachable": ` : ''
    return {
      ...d,
      flow,
      cause: { ...d.cause },
      evidence: [
        ...d.evidence,
        {
          kind: 'packet',
          weight: 'suggests',
          text: `${who} asked for ${nd.dst}'s link-layer address and never heard the answer (${nd.id})`,
          time: nd.first
        },
        ...seen
      ],
      explanation: `${said}${who} never learnt the link-layer address of ${nd.dst}, ${hop === normalizeAddress(toward) ? `the address it had to reach` : `its next hop toward ${toward}`}, so it sent nothing on (the neighbour discovery ${nd.id} failed). ${d.explanation}`
    }
  }
  return undefined
}

/**
 * A failed discovery's own draft, decided once per correlation (its evidence and snapshots)
 * however many failures stand behind it.
 */
const discoveryDrafts = new WeakMap<DecideContext, Map<Flow, Draft | undefined>>()
function discoveryDraft(nd: Flow, ctx: DecideContext): Draft | undefined {
  let drafts = discoveryDrafts.get(ctx)
  if (!drafts) discoveryDrafts.set(ctx, (drafts = new Map()))
  if (!drafts.has(nd)) drafts.set(nd, decide(nd, ctx))
  return drafts.get(nd)
}

/** The neighbour discoveries of an incident that failed, found once per incident. */
const discoveries = new WeakMap<Flow[], Flow[]>()
function failedDiscoveries(flows: Flow[]): Flow[] {
  let list = discoveries.get(flows)
  if (!list) {
    list = flows.filter((f) => f.neighbourDiscovery && f.outcome === 'unanswered')
    discoveries.set(flows, list)
  }
  return list
}

/**
 * An exchange the far side answered whose answer the host it was addressed to refused with an
 * ICMP error (quoting the answer): where that host is a router translating the opener's source,
 * its conntrack no longer held the mapping when the answer came. When the answer came later
 * after the question than the router's UDP conntrack timeout, the timeout is the cause and the
 * fix raises it.
 */
function answerRefused(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  const i = flow.icmp
  if (flow.outcome !== 'unanswered' || i?.quoted !== 'reply') return undefined
  const refuser = [...roles.routers, roles.client].find((h) => h && ownsAddress(h, i.from))
  const name = refuser?.name || i.from
  const at = (what: 'request' | 'reply'): number | undefined => {
    const t = flow.keyPackets?.find((k) => k.what === what)?.time
    return t === undefined ? undefined : Date.parse(t)
  }
  const asked = at('request')
  const answered = at('reply')
  const delaySec =
    asked !== undefined && answered !== undefined ? (answered - asked) / 1000 : undefined
  const key =
    flow.proto === 'udp'
      ? 'net.netfilter.nf_conntrack_udp_timeout'
      : 'net.netfilter.nf_conntrack_icmp_timeout'
  const timeout = refuser && sysctlValue(refuser, key, (v) => /^\d+$/.test(v))
  const expired =
    timeout !== undefined && delaySec !== undefined && delaySec > Number(timeout.value)
  const after =
    delaySec !== undefined ? ` ${Math.round(delaySec * 10) / 10} s after the question` : ''
  const cause: Cause = { kind: expired ? 'nat' : 'unknown', host: refuser?.name || undefined }
  if (expired) {
    cause.system = 'sysctl'
    cause.file = timeout.file
    if (timeout.line !== undefined) cause.line = timeout.line
    cause.rule = `${key} = ${timeout.value}`
  }
  return {
    flow,
    cause,
    evidence: [
      ...(expired
        ? [
            {
              kind: 'conntrack' as const,
              weight: 'proves' as const,
              text: `${name}'s ${key} is ${timeout.value} s, and the answer came${after}`,
              file: timeout.file,
              line: timeout.line
            }
          ]
        : []),
      ...seen
    ],
    confidence: expired ? 0.85 : 0.5,
    explanation: `${flow.dst} answered${after}, but ${name}, where the answer was sent back, refused it (ICMP type ${i.type} code ${i.code}, quoting the answer): ${expired ? `its conntrack had already forgotten the exchange (${key} is ${timeout.value} s), so the answer no longer matched the translation of ${flow.src}'s source and went to ${name} itself, which has nothing listening there. Raise the timeout above the far side's answer time, as the fix does.` : `its conntrack no longer held the exchange (expired, flushed, or the answer came from another address than the question went to), so the answer was not translated back to ${flow.src}.`}`,
    fix: expired ? `sysctl -w ${key}=${Math.max(30, Math.ceil((delaySec ?? 0) * 2))}` : undefined,
    missing: expired ? undefined : [`${name}'s sysctl ${key} and its conntrack table at the time`]
  }
}

/**
 * A RST in the destination's name that crossed no router (its TTL still a sender's initial 64,
 * 128 or 255) while routers stand between the two ends: a device on the opener's side sent it,
 * not the destination. Said as evidence when a router's rule is the cause.
 */
function resetOnTheWay(draft: Draft, roles: FlowRoles): void {
  const r = draft.flow.rst
  if (!r || r.by !== 'responder' || roles.routers.length === 0) return
  if (r.ttl !== 64 && r.ttl !== 128 && r.ttl !== 255) return
  const host = roles.routers.find((h) => h.name === draft.cause.host)
  if (!host) return
  draft.evidence.push({
    kind: 'packet',
    weight: 'suggests',
    text: `the RST arrived with TTL ${r.ttl}, a sender's initial value: it crossed no router, so it came from ${host.name || 'the router'} on the way, not from ${draft.flow.dst} behind it`,
    time: r.time
  })
}

/**
 * An ICMP error answering the flow that the client's own input chain then drops (a stateless
 * client: no rule for related packets): the application never learns of it and keeps retrying
 * until it times out, where it would have failed at once. Said beside the cause, with the
 * client's rule, as the evidence of a walk.
 */
function errorNeverDelivered(draft: Draft, roles: FlowRoles): void {
  const flow = draft.flow
  const i = flow.icmp
  if (!i) return
  // Frag-needed and packet-too-big are the PMTUD story, told on its own.
  if (i.from.includes(':') ? i.type === 2 : i.type === 3 && i.code === 4) return
  const hop = clientInput(roles)
  if (!hop) return
  const client = hop.host
  const proto = i.from.includes(':') ? 'icmpv6' : 'icmp'
  const sim = simPacket(
    `${proto} ${i.from} > ${flow.src} ${i.type}/${i.code}`,
    `the ICMP error from ${i.from}`,
    'related'
  )
  const w = sim && walkPath([hop], () => sim).blocked
  if (!w || w.result.uncertain) return
  draft.evidence.push(walkEvidence(w))
  draft.explanation += ` ${client.name ? `On ${client.name}, the` : "The client's"} input chain then drops the ICMP error (${decision(w)}): the application never learns of it and keeps retrying until it times out.`
}

/** The return path's last hop, into the client, when a snapshot of the client's firewall was read. */
function clientInput(roles: FlowRoles): Hop | undefined {
  const client = roles.client
  if (!client || client.rulesets.length === 0) return undefined
  const hop = returnHops(roles).at(-1)
  return hop?.host === client ? hop : undefined
}

/**
 * An exchange answered on the wire whose answers the client's own input chain then drops (a
 * stateless host firewall: no rule for established connections): the capture, taken before
 * netfilter, shows the answer; the application never gets it. Only with the client's snapshot,
 * and only when its walk of the answer is certain.
 */
function answeredThenDropped(flow: Flow, ctx: DecideContext): Draft | undefined {
  const roles = flowRoles(flow, ctx.ev)
  const hop = clientInput(roles)
  if (!hop) return undefined
  const client = hop.host
  const back = walkPath([hop], (h) => replyPacket(flow, h)).blocked
  if (!back || back.result.uncertain) return undefined
  const kind = classify(back, 'reply')
  const draft = simulated(flow, back, kind, walkCause(back, kind), roles, packetEvidence(flow), 0.8)
  const captured = flow.seenAt.filter((p) => client.points.includes(p))
  if (captured.length > 0)
    draft.evidence.splice(1, 0, {
      kind: 'packet',
      weight: 'suggests',
      text: `the answers were captured at ${captured.join(', ')}: they reached ${client.name || 'the client'}'s interface, and a capture sees packets before the input chain does`
    })
  draft.explanation = `The exchange looks answered on the wire, but the answers never reach the application. ${draft.explanation}`
  return draft
}

/**
 * An accept for the opening packet fixes nothing when the same ruleset drops the replies too (a
 * chain without a rule for established connections): the fix then accepts those as well. The
 * accept goes in first, at the place worked out on the snapshot as it is; the return-path
 * accept, at the top of its chain, after it.
 */
function repliesToo(draft: Draft, roles: FlowRoles): void {
  const c = draft.cause
  if (!draft.fix || c.file === undefined || !['rule', 'policy', 'nat'].includes(c.kind)) return
  const flow = draft.flow
  const back = walkPath(returnHops(roles), (h) => replyPacket(flow, h)).blocked
  if (!back || back.result.uncertain || back.ruleset.file !== c.file) return
  const more = fixFor(flow, 'return-path', back)
  if (!more || draft.fix.includes(more)) return
  draft.fix = `${draft.fix}\n${more}`
  draft.explanation += ` Its replies would be dropped too, by ${decision(back)}: nothing there accepts established connections, so the fix accepts them as well.`
}

/**
 * A packet logged after its host's DNAT, as it arrived: the destination the opener called, and
 * forwarded, the TTL before routing lowered it.
 */
function asArrived(p: LoggedPacket, ends: FlowEnds): LoggedPacket {
  const forwarded = loggedPath(p) === 'forward'
  const raise = (ttl: number | undefined): number | undefined =>
    forwarded && ttl !== undefined ? ttl + 1 : ttl
  return {
    ...p,
    dst: ends.dst,
    dport: p.dport === undefined ? undefined : (ends.dport ?? p.dport),
    ttl: raise(p.ttl),
    hopLimit: raise(p.hopLimit)
  }
}

/** A logged drop of one of the flow's packets: the strongest evidence there is. */
function fromLogs(
  flow: Flow,
  ctx: DecideContext,
  roles: FlowRoles,
  seen: Evidence[]
): Draft | undefined {
  const logs = ctx.logs.get(flow.id) ?? []
  const wanted =
    flow.outcome === 'one-way'
      ? ['reply', 'opening']
      : flow.outcome === 'stalled'
        ? ['icmp', 'opening', 'reply']
        : ['opening', 'reply', 'icmp']
  for (const role of wanted) {
    for (const l of logs) {
      if (l.role !== role) continue
      const e = l.placed.event
      const prefix = e.prefix ?? ''
      const fw = firewalldLogged(flow, l, seen)
      if (fw) return fw
      // Logged past a router's DNAT: the packet already carries the translated destination (and,
      // forwarded, a TTL already lowered). It is walked as it arrived, so that the walk passes
      // the nat rule that translated it, as the kernel did; as logged when that walk does not
      // reach the log rule.
      const ends = roles.ends
      const translated =
        ends.farDst !== ends.dst &&
        normalizeAddress(e.packet!.dst) === normalizeAddress(ends.farDst)
      const arrived = translated ? asArrived(e.packet!, ends) : e.packet!
      let lw = walkLogged(l.placed.host, arrived, prefix)
      if (arrived !== e.packet && !lw.passedLogRule)
        lw = walkLogged(l.placed.host, e.packet!, prefix)
      let w = lw.walk
      // The line's prefix belongs to a rule that logs and drops in one (nft `log prefix "X"
      // drop`), which the walk could not decide (a fib or xt match): the kernel's line is proof
      // that it matched, so it decided.
      const own = lw.logRule?.rule
      if (
        !lw.passedLogRule &&
        w?.result.uncertain &&
        own?.log &&
        (own.action.kind === 'drop' || own.action.kind === 'reject') &&
        w.ruleset === lw.logRule!.ruleset &&
        w.result.uncertainWhy.some((u) => u.startsWith(`line ${own.source.line}:`))
      ) {
        const r = lw.logRule!
        w = {
          ...w,
          result: {
            ...w.result,
            verdict: own.action.kind,
            rejectWith: own.action.kind === 'reject' ? own.action.with : undefined,
            decidedBy: {
              kind: 'rule',
              table: r.table,
              chain: r.chain,
              line: own.source.line,
              rule: own.text
            }
          }
        }
        lw.passedLogRule = true
      }
      const blocked = w !== undefined && w.result.verdict !== 'accept'
      if (!blocked && !DROP_PREFIX.test(prefix)) continue
      const where = l.placed.host.name ? ` on ${l.placed.host.name}` : ''
      const evidence: Evidence[] = [
        logEvidence(
          l,
          'proves',
          `the kernel${where} logged ${describeRole(l.role, l.placed.event.packet)} with prefix "${prefix}" (${baseName(e.file)} ${e.text.startsWith('frame ') ? 'frame' : 'line'} ${e.line})${lw.logRule ? `, the log rule at ${baseName(lw.logRule.ruleset.file)} line ${lw.logRule.rule.source.line}` : ''}`
        )
      ]
      if (blocked && w) {
        evidence.push(walkEvidence(w))
        let kind = classify(w, l.role === 'icmp' ? 'icmp' : l.role)
        if (translated && w.hop.path === 'forward' && (kind === 'rule' || kind === 'policy'))
          kind = 'nat'
        // Logged only in a state the packet does not imply: conntrack had lost the connection
        // (a mid-connection segment taken as NEW or INVALID).
        const lost = lw.ctGuessed && w.sim.ct !== 'untracked' && midConnection(w)
        const cause = walkCause(w, lost ? 'ct-invalid' : kind)
        return {
          flow,
          cause,
          evidence: [...evidence, ...seen],
          confidence: lw.passedLogRule ? 0.97 : 0.9,
          explanation:
            (lost
              ? lostConnection(w, prefix, where, flow)
              : explain(flow, kind, cause, w, 'logged', roles.ends)) + statefulText(w),
          fix: lost ? lostConnectionFix(flow, kind, w) : fixFor(flow, kind, w),
          alignment: l.placed.alignment
        }
      }
      // The line proves a drop, but the snapshot does not drop this packet (taken at another time?).
      const cause: Cause = {
        kind: l.role === 'reply' ? 'return-path' : 'rule',
        host: l.placed.host.name || undefined
      }
      if (lw.logRule) {
        cause.system = lw.logRule.ruleset.value.system
        cause.file = lw.logRule.ruleset.file
        cause.table = lw.logRule.table
        cause.chain = lw.logRule.chain
        cause.line = lw.logRule.rule.source.line
        cause.rule = lw.logRule.rule.text
      }
      if (w) evidence.push(walkEvidence(w))
      return {
        flow,
        cause,
        evidence: [...evidence, ...seen],
        confidence: lw.logRule ? 0.75 : 0.7,
        explanation: `The kernel${where} logged ${describeRole(l.role, l.placed.event.packet)} with the drop prefix "${prefix}". ${lw.logRule ? `That prefix belongs to ${cause.chain} line ${cause.line}, but the snapshot's walk ${w ? `ends in ${w.result.verdict}` : 'could not be made'}: the snapshot may not be the ruleset that was loaded at the time.` : 'No snapshot loaded holds a log rule with that prefix.'}`,
        missing: lw.logRule
          ? undefined
          : [
              `the ruleset of ${l.placed.host.name || 'the logging host'} (the rule with log prefix "${prefix}")`
            ],
        alignment: l.placed.alignment
      }
    }
  }
  return undefined
}

/** The evaluator's walks: the opening packet forward, the reply back, then conntrack, limits and NAT. */
function fromWalks(
  flow: Flow,
  ctx: DecideContext,
  roles: FlowRoles,
  seen: Evidence[]
): Draft | undefined {
  const opening = ['syn-timeout', 'refused-rst', 'icmp-unreachable', 'unanswered'].includes(
    flow.outcome
  )
  const fwdHops = forwardHops(roles)
  if (opening) {
    const fwd = walkPath(fwdHops, (h) => openingPacket(flow, h))
    // A limit the walk could not decide: under it the packet passes, over it something drops it.
    if (fwd.blocked?.result.uncertain || fwd.walks.some((w) => w.result.uncertain)) {
      const limited = rateLimit(flow, ctx, fwdHops, seen)
      if (limited) return limited
    }
    const fz = firewalldBlock(fwdHops, (h) => openingPacket(flow, h))
    if (fz && (!fwd.blocked || fz.hop === fwd.blocked.hop))
      return firewalldDraft(flow, fz, undefined, seen)
    if (fwd.blocked && consistentAnswer(flow, fwd.blocked)) {
      const trap = filledBy(fwd.blocked)
      if (trap) return trapDraft(flow, trap.w, trap.set, roles, seen)
      const w = fwd.blocked
      const kind = classify(w, 'opening')
      const cause = walkCause(w, kind)
      const located = locatedBy(flow, w)
      return {
        flow,
        cause,
        evidence: [walkEvidence(w), ...seen, ...located],
        confidence: w.result.uncertain ? 0.55 : located.length > 0 ? 0.85 : 0.8,
        explanation: explain(flow, kind, cause, w, 'simulated', roles.ends),
        fix: fixFor(flow, kind, w)
      }
    }
  }
  // Refused or answered with an ICMP error by a rule whose condition the walk could not decide
  // (a time of day, a payload string): the answer the flow got is the one that rule gives when
  // its condition holds, so it held.
  if (opening && (flow.outcome === 'refused-rst' || flow.outcome === 'icmp-unreachable')) {
    const held = walkPath(fwdHops, (h) => openingPacket(flow, h), 'match').blocked
    if (held && held.result.verdict === 'reject' && consistentAnswer(flow, held)) {
      const line = held.result.decidedBy?.line
      const why = walkPath(fwdHops, (h) => openingPacket(flow, h))
        .walks.filter((w) => w.hop === held.hop && w.ruleset === held.ruleset)
        .flatMap((w) => w.result.uncertainWhy)
        .filter((u) => line === undefined || u.startsWith(`line ${line}:`))
        .join('; ')
      const kind = classify(held, 'opening')
      const cause = walkCause(held, kind)
      return {
        flow,
        cause,
        evidence: [walkEvidence(held), ...seen],
        confidence: 0.7,
        explanation: `${explain(flow, kind, cause, held, 'simulated', roles.ends)} The walk cannot decide a condition of that rule from the snapshot${why ? ` (${why})` : ''}, but the answer the connection got is exactly the one the rule gives, so the condition held at the time.`,
        fix: fixFor(flow, kind, held)
      }
    }
  }
  const full = conntrackFull(flow, ctx, roles, seen)
  if (full) return full
  if (['syn-timeout', 'one-way', 'unanswered'].includes(flow.outcome)) {
    const back = walkPath(returnHops(roles), (h) => replyPacket(flow, h))
    const fzBack = firewalldBlock(returnHops(roles), (h) => replyPacket(flow, h))
    if (fzBack && !back.blocked) return firewalldDraft(flow, fzBack, 'return-path', seen)
    if (back.blocked) {
      const w = back.blocked
      const kind = classify(w, 'reply')
      return simulated(flow, w, kind, walkCause(w, kind), roles, seen, 0.8)
    }
  }
  if (opening) {
    const limited = rateLimit(flow, ctx, fwdHops, seen)
    if (limited) return limited
  }
  const nat =
    hairpin(flow, roles, ctx.ev, ctx.flows, seen, sourceNetwork) ?? natProblem(flow, roles, seen)
  if (nat) return nat
  if (flow.outcome === 'icmp-unreachable' && flow.icmp?.sender === 'destination') {
    // A host answers a datagram to a closed port with port unreachable, a SYN to one with a
    // reset: any other error from it is a REJECT rule's answer.
    if (!(flow.proto === 'udp' && portUnreachable(flow.icmp))) return rejectedBy(flow, roles, seen)
    return noListener(flow, ctx, roles, seen)
  }
  if (flow.outcome === 'refused-rst') return noListener(flow, ctx, roles, seen)
  return undefined
}

/** Returns whether the answer the flow got (RST, ICMP code) is one a blocking walk would give. */
function consistentAnswer(flow: Flow, w: Walk): boolean {
  const r = w.result
  if (flow.outcome === 'refused-rst')
    return r.verdict === 'reject' && /tcp[- ]reset/i.test(r.rejectWith ?? '')
  if (flow.outcome === 'icmp-unreachable' && flow.icmp) {
    if (r.verdict !== 'reject') return false
    return answersWith(
      r.rejectWith ?? '',
      flow.icmp.type,
      flow.icmp.code,
      flow.proto === 'icmpv6' || flow.src.includes(':')
    )
  }
  return true
}

/** Packet evidence that places the loss where the walk says: seen before the host, missing at it. */
function locatedBy(flow: Flow, w: Walk): Evidence[] {
  const syn = flow.keyPackets?.[0]
  if (!syn?.missingAt?.length) return []
  const hostPoints = new Set(w.hop.host.points)
  const seenThere = syn.seenAt.some((p) => hostPoints.has(p))
  if (w.hop.role === 'server' && seenThere)
    return [
      {
        kind: 'packet',
        weight: 'suggests',
        text: `${w.hop.host.name}'s own capture saw the packet arrive (captures see packets before the firewall does) and nothing answered`,
        time: syn.time
      }
    ]
  return []
}

/** What kind of cause a blocking walk is. */
function classify(w: Walk, role: 'opening' | 'reply' | 'icmp'): CauseKind {
  const rule = decidingRule(w)?.matches
  if (
    rule &&
    rule.some(
      (m) =>
        m.kind === 'ct-state' &&
        !m.negate &&
        m.states.includes('invalid') &&
        !m.states.includes('new')
    )
  )
    return 'ct-invalid'
  if (role === 'icmp') return 'pmtud-blackhole'
  // A neighbour advertisement is no connection's reply (discovery is not tracked).
  if (role === 'reply' && w.sim.packet.icmpType !== 136) return 'return-path'
  if (w.hop.role === 'client' && w.hop.path === 'output') return 'egress'
  // A translated connection the forward chain does not accept is a NAT story, unless the rule
  // that drops it picks its source out (a block of that source, whatever NAT does).
  if (
    w.hop.role === 'router' &&
    w.result.trace.some((s) => s.matched && s.action === 'dnat') &&
    !blocksSource(decidingRule(w))
  )
    return 'nat'
  return w.result.decidedBy?.kind === 'policy' ? 'policy' : 'rule'
}

/** Whether a rule matches on the packet's source (an address, a range or a set of sources). */
function blocksSource(rule: Rule | undefined): boolean {
  return (
    rule?.matches.some(
      (m) =>
        ((m.kind === 'saddr' || m.kind === 'saddr-range') && !m.negate) ||
        (m.kind === 'ipset' && m.dirs[0] === 'src' && !m.negate)
    ) ?? false
  )
}

/** The walk's packet walked again through its snapshot at its hop, with options changed. */
function walkAgain(w: Walk, changes: Partial<WalkOptions>): WalkResult {
  return walkNetfilter(w.ruleset.value, w.sim.packet, {
    ...hopOptions(w.hop, w.sim, w.stateful),
    ...changes
  })
}

/** The chain that decided a walk, as the snapshot holds it. */
function decidingChain(w: Walk): Chain | undefined {
  const d = w.result.decidedBy
  return d && chainAt(w.ruleset.value, d.table, d.chain)?.chain
}

/** The rule that decided a walk, as the snapshot holds it. */
function decidingRule(w: Walk): Rule | undefined {
  const d = w.result.decidedBy
  if (d?.kind !== 'rule') return undefined
  const rules = decidingChain(w)?.rules
  return rules?.[rules ? ruleIndex(rules, d) : -1]
}

/**
 * The queue rule made to let packets through while no program reads its queue (NFQUEUE
 * --queue-bypass, nft `queue ... bypass`), in place of the rule as it is; undefined when it has
 * bypass already, or an nft rule has no handle to replace it by.
 */
function bypassFix(w: Walk, rule: Rule): string | undefined {
  const a = rule.action
  const d = w.result.decidedBy
  if (a.kind !== 'queue' || a.bypass || !d) return undefined
  const at = chainAt(w.ruleset.value, d.table, d.chain)
  if (!at) return undefined
  const text = withoutCounters(rule.text)
  if (w.ruleset.value.system === 'nftables') {
    if (rule.handle === undefined) return undefined
    const bypassed = /\bflags\s+\S+/.test(text)
      ? text.replace(/\bflags\s+(\S+)/, 'flags bypass,$1')
      : text.replace(/\bqueue\b(\s+(?:num|to)\s+\S+)?/, (m) => `${m} bypass`)
    return `nft replace rule ${at.table.family} ${at.table.name} ${d.chain} handle ${rule.handle} ${bypassed}`
  }
  const tool = w.ruleset.value.system === 'ip6tables' ? 'ip6tables' : 'iptables'
  const table = d.table === 'filter' ? '' : `-t ${d.table} `
  const index = ruleIndex(at.chain.rules, d)
  return `${tool} ${table}-R ${d.chain} ${index + 1} ${text.replace(/^-A\s+\S+\s+/, '')} --queue-bypass`
}

/** The fix for a blocking walk, in the snapshot's dialect. */
function fixFor(flow: Flow, kind: CauseKind, w: Walk): string | undefined {
  const d = w.result.decidedBy
  if (!d) return undefined

  const site: FixSite = {
    ruleset: w.ruleset.value,
    table: d.table,
    chain: d.chain,
    line: d.kind === 'rule' ? d.line : undefined,
    index: d.kind === 'rule' ? d.index : undefined
  }
  const e = w.hop.ends
  // Discovery is not tracked: what it needs is both its messages accepted, either way it failed.
  if (flow.neighbourDiscovery)
    return acceptFix(site, { proto: flow.proto, icmp: 'neighbour-discovery' })
  if (kind === 'return-path') {
    return acceptFix(
      { ...site, line: decidingChain(w)?.rules[0]?.source.line },
      { proto: flow.proto, ctEstablished: true }
    )
  }
  if (kind === 'ct-invalid') {
    // Asymmetric routing: this host never saw the opening packet, only what came back. No
    // conntrack setting helps; the replies are accepted by address, before the INVALID rule.
    if (sawOnlyReplies(flow, w)) {
      const p = w.sim.packet
      return acceptFix(site, { proto: flow.proto, src: p.srcText, sport: p.sport, dst: p.dstText })
    }
    // Conntrack that does not pick up connections it lost (tcp_loose off) makes every later
    // segment invalid; otherwise out-of-window segments are the usual reason.
    if (tcpLoose(w) !== '0') return 'sysctl -w net.netfilter.nf_conntrack_tcp_be_liberal=1'
    // Taken up again with tcp_loose on, the segment is NEW: where the chain accepts only SYNs as
    // new connections, that is dropped too, and the fix needs an accept for it as well.
    const loose = 'sysctl -w net.netfilter.nf_conntrack_tcp_loose=1'
    if (midConnection(w)) {
      const result = walkAgain(w, { ct: 'new' })
      if (result.verdict !== 'accept') {
        const asNew: Walk = { ...w, sim: { ...w.sim, ct: 'new' }, result }
        const more = fixFor(flow, result.decidedBy?.kind === 'policy' ? 'policy' : 'rule', asNew)
        if (more) return `${loose}\n${more}`
      }
    }
    return loose
  }
  if (kind === 'pmtud-blackhole')
    return acceptFix(site, {
      proto: flow.proto,
      icmp: e.src.includes(':') ? 'packet-too-big' : 'frag-needed'
    })
  // Past a router's DNAT, its filter chains see the translated destination: the one this walk's
  // nat rule wrote when it made one, else the one the ends know.
  const to = w.result.dnatTo ? natTarget(w.result.dnatTo) : undefined
  const after = to !== undefined && w.result.trace.at(-1)?.hook !== 'prerouting'
  const far = w.hop.role === 'server' || kind === 'nat'
  const allow: Allow = {
    proto: flow.proto,
    dport: after ? (to.port ?? e.dport) : far ? e.farDport : e.dport
  }
  if (w.hop.role !== 'server') allow.dst = after ? to.addr : far ? e.farDst : e.dst
  if (flow.proto === 'icmp' || flow.proto === 'icmpv6')
    allow.icmp = flow.neighbourDiscovery ? 'neighbour-discovery' : 'echo-request'
  // A reverse-path check (nft `fib saddr . iif oif missing`): the packet's source has no route
  // back by the interface it came in on. The fix is in routing, not an accept past the check.
  if (kind === 'rule' && reversePathRule(decidingRule(w))) return undefined
  // Queued to a program that never answered: the rule made to let packets through without it,
  // not an accept that takes the traffic away from the program.
  const queued = kind === 'rule' ? decidingRule(w) : undefined
  if (queued?.action.kind === 'queue') return bypassFix(w, queued)
  // A rule that drops by source: the source taken out of its set, or an accept for it alone,
  // rather than an accept that lets every source the rule names through.
  const rule = kind === 'rule' ? decidingRule(w) : undefined
  if (rule) {
    const set = sourceSet(site, rule, w.sim.packet.srcText)
    if (set) return set.fix
    // (A prefix of length 0 only says which family: nft's `meta nfproto ipv4`.)
    const bySource = rule.matches.some(
      (m) =>
        (m.kind === 'saddr-range' && !m.negate) ||
        (m.kind === 'saddr' && !m.negate && m.cidrs.every((c) => c.bits > 0))
    )
    if (bySource) allow.src = w.sim.packet.srcText
  }
  // The chain lets the service in from other sources only (an ACL): this source is what is
  // missing from it, not the service.
  if (allow.src === undefined && sourceAcl(w)) allow.src = w.sim.packet.srcText
  return acceptFix(site, allow)
}

/**
 * An accept in the chain that decided, for the walked packet's protocol and destination port,
 * restricted to sources the packet's is not among: the service is open to a list of sources.
 */
function sourceAcl(w: Walk): Rule | undefined {
  const p = w.sim.packet
  const src = parseCidr(p.srcText)
  if (!src || p.dport === undefined) return undefined
  const proto = p.proto === 'tcp' ? 6 : p.proto === 'udp' ? 17 : undefined
  const chain = decidingChain(w)
  // A chain of its own (reached by a jump for the service, as a verdict map's `22 : jump
  // ssh_chain`) is an ACL when it accepts by source alone; a base chain's accept by source
  // trusts a network with everything, and says nothing about one port.
  const own = chain !== undefined && !chain.base
  const acls = (chain?.rules ?? []).filter((r) => {
    if (r.action.kind !== 'accept') return false
    let port = own && !r.matches.some((m) => m.kind === 'dport')
    let others = false
    for (const m of r.matches) {
      if (m.kind === 'dport' && !m.negate)
        port = m.ranges.some(([lo, hi]) => p.dport! >= lo && p.dport! <= hi)
      else if (m.kind === 'saddr' && !m.negate && m.cidrs.every((c) => c.bits > 0))
        others = !m.cidrs.some((c) => inCidr(src, c))
      else if (m.kind === 'proto' && !m.negate && proto !== undefined && !m.protos.includes(proto))
        return false
    }
    return port && others
  })
  // Of several, one for the source's own family is the one to show.
  const sameFamily = (r: Rule) =>
    r.matches.some((m) => m.kind === 'saddr' && m.cidrs.some((c) => c.version === src.version))
  return acls.find(sameFamily) ?? acls[0]
}

/**
 * Whether the host whose walk this is captured the conversation's replies but never its SYN,
 * which other points saw: the opening packet took another way (asymmetric routing).
 */
function sawOnlyReplies(flow: Flow, w: Walk): boolean {
  const points = w.hop.host.points
  const syn = flow.keyPackets?.find((k) => k.what === 'syn')
  return (
    flow.proto === 'tcp' &&
    points.length > 0 &&
    syn !== undefined &&
    syn.seenAt.length > 0 &&
    !syn.seenAt.some((p) => points.includes(p)) &&
    flow.seenAt.some((p) => points.includes(p))
  )
}

/**
 * A walk stopped by a rule matching a set that traffic fills (a blocklist), when this very packet
 * is what put its source there: walked with those sets empty, a rule that adds to the set drops
 * it (a port-scan trap, a limit that blocklists). Returns that walk, and the set.
 */
function filledBy(w: Walk): { w: Walk; set: string } | undefined {
  const set = dynamicSetOf(decidingRule(w))
  if (!set) return undefined
  const result = walkAgain(w, { emptySets: true })
  if (result.verdict === 'accept' || !addsTo(result.decidedBy?.rule, set)) return undefined
  return { w: { ...w, result }, set }
}

/** The name of the traffic-filled set a rule matches against, if it does. */
function dynamicSetOf(rule: Rule | undefined): string | undefined {
  const m = rule?.matches.find((x) => x.kind === 'stateful' && x.listed)
  return m?.kind === 'stateful' ? /@([\w.-]+)/.exec(m.text)?.[1] : undefined
}

/** Whether a rule's text adds its packets' keys to the set (`add @set`, `update @set`). */
function addsTo(text: string | undefined, set: string): boolean {
  const name = set.replace(/[.-]/g, (c) => `\\${c}`)
  return text !== undefined && new RegExp(`\\b(?:add|update)\\s+@${name}\\b`).test(text)
}

/** The rules that put sources in a set traffic fills, as a sentence ('' when none does). */
function fillersText(w: Walk, label: string): string {
  const name = label.replace(/^@/, '')
  const rules = w.ruleset.value.tables
    .flatMap((t) => t.chains.flatMap((c) => c.rules))
    .filter((r) => addsTo(r.text, name))
  if (rules.length === 0) return ''
  const which = rules.map((r) => `line ${r.source.line} (\`${withoutCounters(r.text)}\`)`)
  return ` ${capital(which.join(' and '))} put${rules.length === 1 ? 's' : ''} sources in it, so it may add ${w.sim.packet.srcText} again.`
}

/**
 * The packet a trap rule dropped and put its source in a blocklist for: the rule worked as it
 * was written, and no fix is given (opening the trap unblocks nothing; the later packets the set
 * drops are findings of their own, whose fix takes the source out).
 */
function trapDraft(flow: Flow, w: Walk, set: string, roles: FlowRoles, seen: Evidence[]): Draft {
  const stateful = decidingRule(w)?.matches.some((m) => m.kind === 'stateful' && !m.listed)
  const kind: CauseKind = stateful ? 'rate-limit' : 'rule'
  const cause = walkCause(w, kind)
  const src = w.sim.packet.srcText
  const where = w.hop.host.name ? `On ${w.hop.host.name}, ` : ''
  return {
    flow,
    cause,
    evidence: [walkEvidence(w), ...seen],
    confidence: w.result.uncertain ? 0.55 : 0.8,
    explanation: `${where}the rule \`${withoutCounters(cause.rule ?? '')}\` drops ${w.sim.what} to ${endpointText(roles.ends.dst, roles.ends.dport)} and adds ${src} to @${set}: ${stateful ? 'a limit' : 'a trap'} doing what it was written to do. From then on the rules that match @${set} drop everything ${src} sends, until its entry expires. No fix is proposed: ${stateful ? 'raising the limit' : 'opening this port'} would not take ${src} out of @${set}; the findings of its later connections do.`
  }
}

/** Whether a rule checks the packet's source against the routes (nft `fib saddr ... missing`). */
function reversePathRule(rule: Rule | undefined): boolean {
  return (
    rule?.matches.some((m) => m.kind === 'unmodelled' && /^fib\b.*\bsaddr\b/.test(m.text)) ?? false
  )
}

/** Whether a walked packet is a TCP segment of an open connection (no SYN: not its opening). */
function midConnection(w: Walk): boolean {
  const flags = w.sim.packet.tcpFlags
  return flags !== undefined && (flags & 2) === 0
}

/** The nf_conntrack_tcp_loose value a host's sysctl snapshot gives, if any. */
function tcpLoose(w: Walk): string | undefined {
  return sysctlValue(w.hop.host, 'net.netfilter.nf_conntrack_tcp_loose')?.value
}

/**
 * A mid-connection packet the kernel logged in a state its conntrack gave it for want of the
 * connection (walked in each state, only this one reaches the log rule).
 */
function lostConnection(w: Walk, prefix: string, where: string, flow: Flow): string {
  const ct = w.sim.ct.toUpperCase()
  const loose = tcpLoose(w)
  const how =
    w.sim.ct === 'new'
      ? `${loose === '1' ? ', and nf_conntrack_tcp_loose=1' : ', and conntrack'} took the segment up as a NEW connection without a SYN`
      : loose === '0'
        ? ', and with nf_conntrack_tcp_loose=0 it does not take a segment without a SYN up again: the segment is INVALID'
        : ''
  const idle = idleTimeout(w, flow)
  const why = idle
    ? `its entry expired: the host's ${idle.key} is ${idle.value} s, and the connection ran ${Math.round(idle.lastedSec)} s, long enough to sit idle past it`
    : 'its entry was flushed or expired, or the host restarted mid-connection'
  const tail = idle
    ? ' Raise the timeout above the longest idle time (or have the application send keepalives), as the fix does.'
    : ''
  return `The kernel${where} logged ${w.sim.what} of an open connection with prefix "${prefix}", which in the snapshot only a packet in conntrack state ${ct} reaches: conntrack no longer had the connection (${why})${how}. As ${ct}, ${decision(w)} ${w.result.verdict === 'reject' ? 'rejects' : 'drops'} it, and the connection stalls until the application opens a new one.${tail}`
}
function lostConnectionFix(flow: Flow, kind: CauseKind, w: Walk): string | undefined {
  const idle = idleTimeout(w, flow)
  if (idle) return `sysctl -w ${idle.key}=${ESTABLISHED_TIMEOUT_DEFAULT}`
  return w.sim.ct === 'new' ? fixFor(flow, kind, w) : fixFor(flow, 'ct-invalid', w)
}

/** The kernel's own nf_conntrack_tcp_timeout_established: five days. */
const ESTABLISHED_TIMEOUT_DEFAULT = 432000

/**
 * What a logged walk took as given about rate or state (a limit, connlimit, recent list): the
 * rule whose condition the log line proves went the way that reaches the log rule.
 */
function statefulText(w: Walk): string {
  if (w.stateful === 'unknown') return ''
  for (const step of w.result.trace) {
    if (step.kind !== 'rule' || step.line === undefined) continue
    const chain = chainAt(w.ruleset.value, step.table, step.chain)?.chain
    const rule = chain?.rules[ruleIndex(chain.rules, step)]
    const cond = rule?.matches.find((m) => m.kind === 'stateful')
    if (rule && cond?.kind === 'stateful')
      return ` The line proves that ${cond.name} at line ${step.line} (\`${withoutCounters(rule.text)}\`) ${step.matched ? 'matched' : 'did not match'} at the time: a condition on rate or state no snapshot holds, which the kernel's line settles.`
  }
  return ''
}

/**
 * A host's established-connection timeout when it is short enough to explain a lost entry: set
 * below an hour and shorter than the connection ran (it sat idle past it, then sent again).
 */
function idleTimeout(
  w: Walk,
  flow: Flow
): { key: string; value: number; lastedSec: number } | undefined {
  const key = 'net.netfilter.nf_conntrack_tcp_timeout_established'
  const v = sysctlValue(w.hop.host, key, (s) => /^\d+$/.test(s))
  if (!v) return undefined
  const value = Number(v.value)
  const lastedSec = (Date.parse(flow.last) - Date.parse(flow.first)) / 1000
  if (!(value < 3600 && lastedSec > value)) return undefined
  return { key, value, lastedSec }
}

/** The set holding the source by which the deciding rule dropped the walked packet. */
function setOfSource(w: Walk): SourceSet | undefined {
  const d = w.result.decidedBy
  const rule = decidingRule(w)
  if (!d || !rule) return undefined
  const site = {
    ruleset: w.ruleset.value,
    table: d.table,
    chain: d.chain,
    line: d.line,
    index: d.index
  }
  return sourceSet(site, rule, w.sim.packet.srcText)
}

/**
 * A cause found by walking the snapshot: the walk and what was seen as evidence, the
 * explanation and fix for `kind`, and `confidence` (0.5 when the walk was uncertain).
 */
function simulated(
  flow: Flow,
  w: Walk,
  kind: CauseKind,
  cause: Cause,
  roles: FlowRoles,
  seen: Evidence[],
  confidence: number
): Draft {
  return {
    flow,
    cause,
    evidence: [walkEvidence(w), ...seen],
    confidence: w.result.uncertain ? 0.5 : confidence,
    explanation: explain(flow, kind, cause, w, 'simulated', roles.ends),
    fix: fixFor(flow, kind, w)
  }
}

function describeRole(role: FlowLog['role'], p?: LoggedPacket): string {
  // A TCP segment without SYN is the connection's, not its opening packet or first reply.
  const midway = p?.proto.toUpperCase() === 'TCP' && !(p.flags ?? []).includes('SYN')
  if (midway && role !== 'icmp')
    return role === 'opening' ? "a segment of the opener's" : "a segment of the responder's"
  return role === 'opening'
    ? 'the opening packet'
    : role === 'reply'
      ? 'the reply'
      : 'the ICMP error'
}

/** One or two plain sentences for a walk's cause. */
function explain(
  flow: Flow,
  kind: CauseKind,
  cause: Cause,
  w: Walk,
  how: 'logged' | 'simulated',
  e: FlowEnds
): string {
  const to = endpointText(e.dst, e.dport)
  // Prose drops iptables-save -c's counters; the cause keeps the rule exactly as written.
  const rule = withoutCounters(cause.rule)
  const on = w.hop.host.name ? `${w.hop.host.name}'s` : 'the'
  const by = decision(w)
  const where = w.hop.host.name ? `On ${w.hop.host.name}, ` : ''
  const proof =
    how === 'logged'
      ? 'The kernel logged the drop, and the snapshot places it at'
      : 'Walked through the snapshot, it stops at'
  switch (kind) {
    case 'return-path':
      return `${capital(w.sim.what)} from ${to} back to ${flow.src} is dropped by ${on} ${w.hop.path} chain: it has no rule accepting established connections, so replies fall to ${by}. ${proof} ${by}.`
    case 'ct-invalid': {
      const syn = flow.keyPackets?.find((k) => k.what === 'syn')
      return sawOnlyReplies(flow, w)
        ? `${w.hop.host.name || 'The host'} never saw the SYN (it went another way: seen at ${syn!.seenAt.join(', ')}), only what came back: with asymmetric routing its conntrack has no connection for ${w.sim.what}, marks it invalid, and ${by} drops it. ${proof} ${by}. Route both directions through the same firewall, or accept the replies by address before the INVALID rule, as the fix does.`
        : `Conntrack marks ${w.sim.what} invalid and ${on} ${by} drops invalid packets (often asymmetric routing or a state the host never saw open). ${proof} ${by}.`
    }
    case 'pmtud-blackhole':
      return `The ICMP${e.src.includes(':') ? 'v6 "packet too big"' : ' "fragmentation needed"'} that tells the sender to use smaller packets is dropped by ${on} ${by}, so full-size segments are lost for ever (a PMTUD black hole).`
    case 'egress':
      return `${where}its own output chain stops ${w.sim.what} to ${to} before it leaves (${by}).`
    case 'nat': {
      const stale = preNatAccept(w, e)
      return `${where}NAT translates ${w.sim.what} to ${endpointText(e.farDst, e.farDport)} but its forward chain does not accept the translated connection (${by}).${stale ? ` Line ${stale.source.line} (\`${withoutCounters(stale.text)}\`) accepts ${to}, the destination before translation, which the forward chain never sees.` : ''}`
    }
    case 'policy':
      return `No rule of ${on} ${cause.chain} chain accepts ${w.sim.what} ${w.sim.packet.icmpType === 136 ? `from ${w.sim.packet.srcText}` : `to ${to}`}, so the chain's policy ${w.result.verdict}s it.${untrackedText(w)}${aclText(flow, w)} ${proof} ${by}.`
    default: {
      const q = kind === 'rule' ? decidingRule(w)?.action : undefined
      const queues =
        q?.kind === 'queue'
          ? /[:-]/.test(q.num)
            ? `queues ${q.num.replace(/[:-]/, ' to ')}`
            : `queue ${q.num}`
          : ''
      if (q?.kind === 'queue')
        return `${where}the rule \`${rule}\` hands ${w.sim.what} to ${to} to the program that reads ${queues} (an IPS such as Suricata or Snort), and the packet never came out: ${q.bypass ? 'the program dropped it (with bypass the kernel lets packets through only while no program reads the queue)' : 'no program read the queue, and the kernel drops every packet queued to a queue nobody reads (or the program dropped it)'}. Start the program on ${queues}${q.bypass ? ' and check its verdicts' : ', or let packets through while it is down with the queue bypass, as the fix does'}. ${how === 'logged' ? 'The kernel logged the packet on its way to it, and the snapshot places the queue rule at' : proof} ${by}.`
      const set = kind === 'rule' ? setOfSource(w) : undefined
      const listed = set
        ? ` ${w.sim.packet.srcText} is in ${set.label}${set.element !== w.sim.packet.srcText ? ` (as ${set.element})` : ''}, the set the rule matches sources against: ${set.fix.includes(' nomatch') ? `the fix makes a hole in the set for ${w.sim.packet.srcText} alone (a nomatch entry) rather than opening the port to every source in it or taking all of ${set.element} out` : 'the fix takes it out of the set rather than opening the port to every source in it'}.${fillersText(w, set.label)}`
        : ''
      const fib = reversePathRule(decidingRule(w))
        ? ` It is a reverse-path check: ${w.sim.packet.srcText} has no route back by the interface the packet came in on${w.hop.iif ? ` (${w.hop.iif})` : ''}. Add that route, or correct the source's address; an accept before the check would only switch it off.`
        : ''
      return `${where}the rule ${rule ? `\`${rule}\`` : by} ${w.result.verdict === 'reject' ? 'rejects' : 'drops'} ${w.sim.what} to ${to}.${listed}${untrackedText(w)}${set ? '' : aclText(flow, w)}${fib} ${proof} ${by}.`
    }
  }
}

/**
 * An accept in the chain that decided a translated packet's fate written for the destination
 * before translation (the classic DNAT mistake): it names the called address, and the port when
 * it names one, and so never matches what the chain sees.
 */
function preNatAccept(w: Walk, e: FlowEnds): Rule | undefined {
  if (e.farDst === e.dst) return undefined
  const chain = decidingChain(w)
  const called = parseCidr(e.dst)
  if (!chain || !called) return undefined
  return chain.rules.find(
    (r) =>
      r.action.kind === 'accept' &&
      r.matches.some(
        (m) => m.kind === 'daddr' && !m.negate && m.cidrs.some((c) => inCidr(called, c))
      ) &&
      r.matches.every(
        (m) =>
          m.kind !== 'dport' ||
          (e.dport !== undefined &&
            !m.negate &&
            m.ranges.some(([lo, hi]) => e.dport! >= lo && e.dport! <= hi))
      )
  )
}

/**
 * " Line 7 accepts the port only from 203.0.113.99; the SYN comes from 203.0.113.5 (10.74.1.2,
 * translated on the way)": the source ACL that leaves this source out, when there is one.
 */
function aclText(flow: Flow, w: Walk): string {
  const acl = sourceAcl(w)
  if (!acl) return ''
  const src = w.sim.packet.srcText
  const from = acl.matches.find((m) => m.kind === 'saddr')
  const listed = from?.kind === 'saddr' ? from.cidrs.length : 0
  const translated = src !== flow.src ? ` (${flow.src}, translated by source NAT on the way)` : ''
  return ` Line ${acl.source.line} accepts the port only from ${listed === 1 ? 'one source' : `${listed} sources`} (\`${withoutCounters(acl.text)}\`); ${w.sim.what} comes from ${src}${translated}, which is not among them.`
}

/**
 * A walk that ends untracked because a notrack rule took the packet out of conntrack: which rule
 * did, and the rule that would have accepted it tracked (a rule for state NEW never matches an
 * untracked packet).
 */
function untrackedText(w: Walk): string {
  if (w.result.ct !== 'untracked' || w.sim.ct === 'untracked') return ''
  const step = w.result.trace.find((s) => s.action === 'notrack')
  if (!step) return ''
  const tracked = walkAgain(w, { ignoreNotrack: true })
  const by = tracked.verdict === 'accept' ? tracked.decidedBy : undefined
  const would =
    by?.kind === 'rule'
      ? `: line ${by.line} (\`${withoutCounters(by.rule ?? '')}\`), which accepts it tracked (as ${w.sim.ct.toUpperCase()}), never matches it`
      : ''
  return ` The ${step.table} table's line ${step.line} (\`${withoutCounters(step.rule ?? '')}\`) takes ${w.sim.what} out of connection tracking, so every later rule sees it UNTRACKED${would}.`
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** SYN timeouts inside a window the kernel logged "table full" on a host on the way. */
function conntrackFull(
  flow: Flow,
  ctx: DecideContext,
  roles: FlowRoles,
  seen: Evidence[]
): Draft | undefined {
  if (ctx.conntrackFull.length === 0) return undefined
  if (!['syn-timeout', 'unanswered', 'one-way'].includes(flow.outcome)) return undefined
  const onPath = new Set([roles.client, roles.server, ...roles.routers].filter(Boolean))
  const first = Date.parse(flow.first) / 1000 - 1
  const last = Date.parse(flow.last) / 1000 + 1
  const hits = ctx.conntrackFull.filter(
    (p) =>
      (onPath.size === 0 || onPath.has(p.host) || p.host.name === '') &&
      (p.time === undefined || (p.time >= first && p.time <= last))
  )
  if (hits.length === 0) return undefined
  const timed = hits.filter((h) => h.time !== undefined)
  const host = (timed[0] ?? hits[0]).host
  const evidence: Evidence[] = (timed.length ? timed : hits)
    .slice(0, 3)
    .map((p) =>
      logEvidence(
        { placed: p, role: 'opening' },
        p.time !== undefined ? 'proves' : 'suggests',
        `the kernel${p.host.name ? ` on ${p.host.name}` : ''} logged "table full, dropping packet"${p.event.suppressed ? ` (and ${p.event.suppressed} more, suppressed)` : ''}${p.time === undefined ? ' (time not aligned to the captures)' : ' during the flow'}`
      )
    )
  const max = sysctlFact(host, 'conntrackMax')
  const count = sysctlFact(host, 'conntrackCount')
  const entries = host.conntrack?.value.entries.length
  if (max || count || entries !== undefined)
    evidence.push({
      kind: 'conntrack',
      weight: 'suggests',
      text: `conntrack ${count ? `count ${count.value}` : entries !== undefined ? `${entries} entries in the snapshot` : ''}${max ? ` of nf_conntrack_max ${max.value}` : ''}`,
      file: (max ?? count)?.file ?? host.conntrack?.file
    })
  return {
    flow,
    cause: { kind: 'conntrack-full', host: host.name || undefined, system: 'conntrack' },
    evidence: [...evidence, ...seen],
    confidence: timed.length ? 0.9 : 0.5,
    explanation: `${host.name || 'The host'}'s conntrack table was full while ${flow.src} tried to connect, and the kernel drops new connections it cannot track. Raise nf_conntrack_max (or find what fills the table).`,
    fix: conntrackMaxFix(max?.value),
    alignment: (timed[0] ?? hits[0]).alignment
  }
}

/** A limit (limit, hashlimit, recent, connlimit): the walk accepts under it and drops over it. */
function rateLimit(
  flow: Flow,
  ctx: DecideContext,
  hops: Hop[],
  seen: Evidence[]
): Draft | undefined {
  const under = walkPath(hops, (h) => openingPacket(flow, h), 'match')
  const over = walkPath(hops, (h) => openingPacket(flow, h), 'miss')
  if (under.blocked || !over.blocked) return undefined
  const w = over.blocked
  const isLimit = (rule: string | undefined): boolean =>
    /limit|recent|connlimit|quota|meter|ct count/.test(rule ?? '')
  // The limit that lets the packet through under it (an accept), or, written for traffic over
  // its limit, the rule that drops it over it.
  const accepting = under.walks
    .flatMap((x) => x.result.trace.map((s) => ({ x, s })))
    .find(({ x, s }) => s.matched && x.hop === w.hop && isLimit(s.rule))
  const dropping = w.result.trace.findLast((s) => s.matched && s.kind === 'rule')
  const limiter =
    accepting ?? (dropping && isLimit(dropping.rule) ? { x: w, s: dropping } : undefined)
  if (!limiter) return undefined
  const e = hops[0]?.ends ?? flowEnds(flow)
  const limit = withoutCounters(limiter.s.rule)
  const sameService = ctx.flows.filter(
    (f) => f.dst === flow.dst && f.dport === flow.dport && f.proto === flow.proto
  )
  const ok = sameService.filter(
    (f) => f.outcome === 'established' || f.outcome === 'answered'
  ).length
  // The most connections to the service that began within one second: the burst a limit must
  // let through at once (a per-source hashlimit is sized by its own doubling).
  const starts = sameService.map((f) => Date.parse(f.first)).sort((a, b) => a - b)
  let peak = 0
  for (let i = 0, j = 0; i < starts.length; i++) {
    while (starts[i] - starts[j] > 1000) j++
    peak = Math.max(peak, i - j + 1)
  }
  const cause = walkCause(w, 'rate-limit')
  cause.rule = limiter.s.rule
  cause.line = limiter.s.line
  cause.table = limiter.s.table
  cause.chain = limiter.s.chain
  return {
    flow,
    cause,
    evidence: [
      walkEvidence(limiter.x, 'predicts'),
      walkEvidence(w, 'predicts'),
      {
        kind: 'packet',
        weight: 'suggests',
        text: `${ok} of ${sameService.length} connections to ${endpointText(e.dst, e.dport)} succeeded; this one did not`
      },
      ...seen
    ],
    confidence: ok > 0 ? 0.7 : 0.5,
    explanation: `${w.hop.host.name ? `Host ${w.hop.host.name}` : 'The host'} ${
      accepting
        ? `accepts ${w.sim.what} to ${endpointText(e.dst, e.dport)} only under a rate limit (\`${limit}\`); over it, ${decision(w)} ${w.result.verdict}s it.`
        : `${w.result.verdict}s ${w.sim.what} to ${endpointText(e.dst, e.dport)} once traffic is over the limit of \`${limit}\`.`
    } ${ok > 0 ? 'Other connections to the same service got through, as a limit lets some pass.' : ''} The fix doubles the limit${peak > 1 ? `, with a burst of at least the ${peak} connections that began within one second here` : ''}; size it to the real load.`.trim(),
    fix: limitFix(limiter.x, limiter.s, peak)
  }
}

/** Forwarding off on a router, or replies addressed to a private source nobody translates. */
function natProblem(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  if (!['syn-timeout', 'one-way', 'unanswered'].includes(flow.outcome)) return undefined
  const e = roles.ends
  const v6 = e.src.includes(':')
  for (const r of roles.routers) {
    const fwd = sysctlFact(r, v6 ? 'ipv6Forwarding' : 'ipv4Forwarding')
    if (fwd && fwd.value === false)
      return {
        flow,
        cause: {
          kind: 'nat',
          host: r.name,
          system: 'sysctl',
          file: fwd.file,
          rule: v6 ? 'net.ipv6.conf.all.forwarding = 0' : 'net.ipv4.ip_forward = 0'
        },
        evidence: [
          {
            kind: 'conntrack',
            weight: 'proves',
            text: `${r.name} has ${v6 ? 'IPv6 forwarding' : 'ip_forward'} off`,
            file: fwd.file
          },
          ...seen
        ],
        confidence: 0.9,
        explanation: `${r.name} sits between ${e.src} and ${e.dst} but does not forward ${v6 ? 'IPv6' : 'IPv4'} packets: forwarding is off.`,
        fix: v6 ? 'sysctl -w net.ipv6.conf.all.forwarding=1' : 'sysctl -w net.ipv4.ip_forward=1'
      }
  }
  const server = roles.server
  // "No route back" needs the server's routing table: its addresses alone do not show a default
  // route. A server that answered (its SYN-ACK seen anywhere) had a route back, whatever a
  // snapshot says.
  const answered = flow.outcome === 'one-way' || flow.keyPackets?.some((k) => k.what === 'syn-ack')
  if (
    server &&
    server.routes.length > 0 &&
    !answered &&
    roles.routers.length > 0 &&
    isPrivate(e.farSrc)
  ) {
    const back = interfaceToward(server, e.farSrc, { src: e.farDst })
    const serverSawSyn = flow.keyPackets
      ?.find((k) => k.what === 'syn')
      ?.seenAt.some((p) => server.points.includes(p))
    const router = roles.routers[0]
    if (back === undefined && !sourceTranslated(flow, router, roles, serverSawSyn)) {
      const out = forwardRoute(router, e, false).choice?.dev
      // Both ends private: one network, whose way back is a route, not a translation.
      const gateway = isPrivate(e.farDst) ? addressOnLink(router, e.farDst) : undefined
      if (gateway) {
        const net = sourceNetwork(router, e.src)
        return {
          flow,
          cause: { kind: 'unknown', host: server.name || undefined, file: server.routes[0].file },
          evidence: [
            {
              kind: 'host',
              weight: 'proves',
              text: `${server.name} has no route to ${e.farSrc}: neither a route for its network nor a default route`,
              file: server.routes[0].file
            },
            ...(serverSawSyn
              ? [
                  {
                    kind: 'packet' as const,
                    weight: 'suggests' as const,
                    text: `${server.name} received the opening packet from ${e.farSrc} and never answered it`
                  }
                ]
              : []),
            ...seen
          ],
          confidence: 0.8,
          explanation: `${server.name} has no route back to ${e.farSrc}, so its answers go nowhere (the kernel drops them as it makes them). Both ends are private addresses, one network's, reached through ${router.name}: the way back is a route on ${server.name} through ${router.name} (${gateway}), not a translation on ${router.name}.`,
          fix: `ip ${v6 ? '-6 ' : ''}route add ${net} via ${gateway}`
        }
      }
      const rules = router.rulesets.find((r) =>
        v6 ? r.value.system !== 'iptables' : r.value.system !== 'ip6tables'
      )?.value
      return {
        flow,
        cause: {
          kind: 'nat',
          host: router.name,
          // The router's firewall when a snapshot of it was read; no system is guessed.
          system: rules?.system,
          verdict: 'no source NAT'
        },
        evidence: [
          {
            kind: 'host',
            weight: 'predicts',
            text: `${server.name} has no route back to ${e.farSrc} (a private address): its replies cannot return unless ${router.name} translates the source`,
            file: server.routes[0].file
          },
          ...(serverSawSyn
            ? [
                {
                  kind: 'packet' as const,
                  weight: 'suggests' as const,
                  text: `${server.name} received the opening packet from the private address ${e.farSrc}`
                }
              ]
            : []),
          ...seen
        ],
        confidence: 0.7,
        explanation: `${router.name} forwards ${e.src}'s packets to ${e.dst} without translating the private source address, and ${server.name} has no route back to it: a missing MASQUERADE/SNAT.`,
        fix: masqueradeFix(rules, v6, sourceNetwork(router, e.src), out)
      }
    }
  }
  return undefined
}

/** RST or port unreachable from the host itself, nothing rejecting: nothing listens. */
function noListener(flow: Flow, ctx: DecideContext, roles: FlowRoles, seen: Evidence[]): Draft {
  const e = roles.ends
  const server = roles.server
  const proto = flow.proto === 'udp' ? 'udp' : 'tcp'
  const port = e.farDport ?? e.dport
  const selinux = ctx.selinux.find(
    (p) =>
      (!server || p.host === server || p.host.name === '') &&
      p.event.selinux?.port === port &&
      /name_bind|node_bind/.test(p.event.selinux?.permission ?? '')
  )
  if (selinux) {
    const s = selinux.event.selinux!
    return {
      flow,
      cause: {
        kind: 'selinux',
        host: selinux.host.name || undefined,
        system: 'selinux',
        file: selinux.event.file,
        line: selinux.event.line,
        rule: selinux.event.text
      },
      evidence: [
        logEvidence(
          { placed: selinux, role: 'opening' },
          'proves',
          `SELinux denied ${s.comm ?? 'a process'} ${s.permission} on port ${port}${s.permissive ? ' (permissive: logged only)' : ''}`
        ),
        ...seen
      ],
      confidence: s.permissive ? 0.4 : 0.85,
      explanation: `Nothing listens on ${endpointText(e.farDst, port)} because SELinux denied ${s.comm ?? 'the service'} the ${s.permission} it needs${s.tcontext ? ` (${s.tcontext})` : ''}.`,
      fix: `semanage port -a -t ${selinuxPortType(s.scontext)} -p ${proto} ${port}`
    }
  }
  const local = server ? prerouteOnlyDnat(server, flow, e) : undefined
  if (local) return localDnat(flow, server!, local, seen)
  const facts: Evidence[] = []
  let confidence = 0.7
  let listening: boolean | undefined
  // The service may be running, bound to another address (127.0.0.1 only, another interface's).
  let elsewhere: Listener[] = []
  if (server?.ss && port !== undefined) {
    const listeners = server.ss.value.listeners
    listening = isListening(listeners, proto, e.farDst, port)
    if (!listening)
      elsewhere = listeners.filter(
        (l) =>
          l.proto === proto && l.port === port && (l.state === 'LISTEN' || l.state === 'UNCONN')
      )
    facts.push({
      kind: 'host',
      weight: listening ? 'suggests' : 'predicts',
      text: `${server.name}'s socket list ${listening ? 'shows' : 'shows nothing'} listening on ${proto} ${endpointText(e.farDst, port)}${elsewhere.length > 0 ? `; ${boundElsewhere(elsewhere)} only (line ${elsewhere[0].line})` : ''}`,
      file: server.ss.file
    })
    confidence = listening ? 0.3 : 0.9
  }
  const r = flow.rst
  const forged = r && r.by === 'responder' && r.usualTtl !== undefined && r.usualTtl !== r.ttl
  if (forged) confidence = Math.min(confidence, 0.35)
  if (listening || forged)
    return {
      flow,
      cause: { kind: 'unknown', host: server?.name },
      evidence: [...facts, ...seen],
      confidence: 0,
      explanation: `The connection was refused, yet ${listening ? `${server!.name} has a listener on port ${port}` : `the RST's TTL (${r!.ttl}) differs from the host's other packets (${r!.usualTtl}), which suggests a device on the way forged it`}. No snapshot loaded rejects it.`,
      missing: [
        `the rulesets of the devices between ${flow.src} and ${flow.dst}`,
        ...(server ? [] : [`which host owns ${flow.dst} (its \`ip addr\`)`])
      ]
    }
  // Without the host's ruleset a REJECT cannot be ruled out: iptables' REJECT answers exactly so.
  const rulesKnown =
    server !== undefined && (server.rulesets.length > 0 || server.firewalldFiles.length > 0)
  const draft: Draft = {
    flow,
    cause: { kind: 'no-listener', host: server?.name },
    evidence: [...facts, ...seen],
    confidence: rulesKnown ? confidence : Math.min(confidence, 0.45),
    explanation: `${server ? `Host ${server.name}` : flow.dst} answered the ${flow.proto === 'udp' ? 'datagram with port unreachable' : 'SYN with a reset'} itself${rulesKnown ? ' and no rule rejects it' : ''}: nothing listens on ${endpointText(e.farDst, port)}${rulesKnown ? '' : ', unless a REJECT rule answers for it (its ruleset was not loaded)'}. ${
      elsewhere.length > 0
        ? `The service runs, but ${boundElsewhere(elsewhere)} only: bind it to ${e.farDst} (or to every address) in its configuration, or point the client at the address it listens on.`
        : 'Start the service, or point the client at the right port.'
    }`
  }
  if (!rulesKnown)
    draft.missing = [
      `${server ? `${server.name}'s` : `the ruleset of the host that owns ${e.farDst}`}${server ? ' ruleset' : ''}, to rule out a REJECT rule (${flow.proto === 'udp' ? "iptables' default REJECT answers port unreachable" : 'REJECT --reject-with tcp-reset answers with a reset'})`
    ]
  return draft
}

/** ICMP port unreachable (type 3 code 3), or ICMPv6's (type 1 code 4). */
function portUnreachable(icmp: { type: number; code: number }): boolean {
  return (icmp.type === 3 && icmp.code === 3) || (icmp.type === 1 && icmp.code === 4)
}

/**
 * An ICMP error from the destination that no closed port gives (a SYN answered with port
 * unreachable, anything answered with administratively prohibited): a REJECT rule on it, or on a
 * firewall answering in its name, that no loaded snapshot shows.
 */
function rejectedBy(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft {
  const i = flow.icmp!
  const server = roles.server
  const who = server ? server.name : flow.dst
  const what =
    flow.proto === 'tcp' ? 'the SYN' : flow.proto === 'udp' ? 'the datagram' : 'the echo request'
  const why =
    flow.proto === 'tcp'
      ? 'a host answers a SYN to a closed port with a reset, never with an ICMP error'
      : flow.proto === 'udp'
        ? 'a closed port answers with port unreachable, not this'
        : 'a host answers an echo request with an echo reply, or not at all'
  const rules = server && (server.rulesets.length > 0 || server.firewalldFiles.length > 0)
  return {
    flow,
    cause: { kind: 'unknown', host: server?.name },
    evidence: seen,
    confidence: 0,
    explanation: `${who} answered ${what} with ICMP${flow.src.includes(':') ? 'v6' : ''} type ${i.type} code ${i.code}${icmpName(i.type, i.code)}: ${why}, so a REJECT rule answered (on ${who}, or on a firewall answering in its name)${rules ? ', though no loaded snapshot of it rejects it: the ruleset may have changed since' : ''}. Its ruleset would say which rule.`,
    missing: rules
      ? [`the ruleset ${who} had loaded at the time`]
      : [
          `${server ? `${server.name}'s` : `the ruleset of the host that owns ${flow.dst}`}${server ? ' ruleset' : ''} (iptables-save or nft list ruleset), to name the REJECT rule`
        ]
  }
}

/** The name of an ICMP unreachable code, in brackets with a leading space ('' when unknown). */
function icmpName(type: number, code: number): string {
  const v4: Record<number, string> = {
    0: 'network unreachable',
    1: 'host unreachable',
    3: 'port unreachable',
    9: 'network administratively prohibited',
    10: 'host administratively prohibited',
    13: 'communication administratively prohibited'
  }
  const v6: Record<number, string> = {
    1: 'administratively prohibited',
    3: 'address unreachable',
    4: 'port unreachable',
    6: 'reject route'
  }
  const name = type === 3 ? v4[code] : type === 1 ? v6[code] : undefined
  return name ? ` (${name})` : ''
}

/** "python3 listens on 127.0.0.1:5432": the sockets bound to other addresses than the one called. */
function boundElsewhere(listeners: Listener[]): string {
  const who = listeners[0].process ?? 'a process'
  const where = [...new Set(listeners.map((l) => endpointText(l.address, l.port)))]
  return `${who} listens on ${where.join(' and ')}`
}

/** The port type a confined domain may bind (httpd_t → http_port_t), for `semanage port -a`. */
function selinuxPortType(scontext?: string): string {
  const domain = scontext?.split(':')[2] ?? ''
  const known: Record<string, string> = {
    httpd_t: 'http_port_t',
    nginx_t: 'http_port_t',
    sshd_t: 'ssh_port_t',
    named_t: 'dns_port_t',
    postgresql_t: 'postgresql_port_t',
    mysqld_t: 'mysqld_port_t',
    squid_t: 'squid_port_t',
    smtpd_t: 'smtp_port_t'
  }
  return known[domain] ?? (domain.endsWith('_t') ? `${domain.slice(0, -2)}_port_t` : 'http_port_t')
}

/** The ports of daemons that refuse through TCP wrappers (others: any port). */
const DAEMON_PORTS: Record<string, number> = {
  sshd: 22,
  'in.telnetd': 23,
  vsftpd: 21,
  proftpd: 21,
  'in.ftpd': 21,
  rpcbind: 111,
  portmap: 111
}

/** A refused connection logged by TCP wrappers (sshd, tcpd) for the flow's source. */
function tcpWrappers(flow: Flow, ctx: DecideContext): Draft | undefined {
  if (flow.proto !== 'tcp' || ctx.wrappers.length === 0) return undefined
  const first = Date.parse(flow.first) / 1000 - 2
  const last = Date.parse(flow.last) / 1000 + 2
  const hit = ctx.wrappers.find(
    (p) =>
      p.event.client !== undefined &&
      normalizeAddress(p.event.client) === normalizeAddress(flow.src) &&
      (DAEMON_PORTS[p.event.daemon ?? ''] ?? flow.dport) === flow.dport &&
      (p.time === undefined || (p.time >= first && p.time <= last))
  )
  if (!hit) return undefined
  const daemon = hit.event.daemon ?? 'sshd'
  return {
    flow,
    cause: {
      kind: 'tcp-wrappers',
      host: hit.host.name || undefined,
      system: 'tcp-wrappers',
      file: hit.event.file,
      line: hit.event.line,
      rule: hit.event.text
    },
    evidence: [
      logEvidence(
        { placed: hit, role: 'opening' },
        hit.time !== undefined ? 'proves' : 'suggests',
        `${daemon} refused the connection from ${hit.event.client} (TCP wrappers: hosts.allow / hosts.deny)`
      ),
      ...packetEvidence(flow)
    ],
    confidence: hit.time !== undefined ? 0.9 : 0.6,
    explanation: `The handshake completed, then ${daemon} closed the connection: TCP wrappers (/etc/hosts.deny) refuse ${flow.src}.`,
    fix: `echo '${daemon}: ${flow.src}' >> /etc/hosts.allow`,
    alignment: hit.alignment
  }
}

/**
 * A stalled flow. Segments no bigger than ones already acknowledged are not a
 * size problem: conntrack lost the connection (a flush, a failover, a reboot)
 * and the host drops its packets as invalid. Bigger ones: a rule that drops by
 * length when the snapshots have one, otherwise the PMTUD black hole.
 */
function stalled(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  const d = flow.data
  if (d?.stuckPayload !== undefined && d.stuckPayload <= d.maxAckedPayload) {
    const fromOpener = d.stuckFrom !== 'responder'
    const hops = fromOpener ? forwardHops(roles) : returnHops(roles)
    const walked = walkPath(hops, stuckSegment(fromOpener, 'invalid'))
    const w = walked.blocked
    if (w && classify(w, fromOpener ? 'opening' : 'reply') === 'ct-invalid')
      return simulated(flow, w, 'ct-invalid', walkCause(w, 'ct-invalid'), roles, seen, 0.7)
    return undefined
  }
  return sizeDrop(flow, roles, seen) ?? pmtud(flow, roles, seen)
}

/**
 * Returns the stuck segment of a stalled flow as each hop on its way sees it: the far side's
 * addresses past a router's DNAT, in conntrack state `ct`, with its IP length when known.
 */
function stuckSegment(
  fromOpener: boolean,
  ct: CtState,
  len?: number
): (h: Hop) => SimPacket | undefined {
  return (h) => {
    const e = h.ends
    const far = h.role === 'server' || (h.role === 'router' && !fromOpener)
    const [a, ap, b, bp] = fromOpener
      ? [
          far ? e.farSrc : e.src,
          far ? e.farSport : e.sport,
          far ? e.farDst : e.dst,
          far ? e.farDport : e.dport
        ]
      : [
          far ? e.farDst : e.dst,
          far ? e.farDport : e.dport,
          far ? e.farSrc : e.src,
          far ? e.farSport : e.sport
        ]
    return simPacket(
      `tcp ${endpointText(a, ap)} > ${endpointText(b, bp)} psh${len !== undefined ? ` len=${len}` : ''}`,
      'the unacknowledged segment',
      ct
    )
  }
}

/**
 * A stalled flow whose big segments a rule drops by their length (`-m length`, `meta length`):
 * the stuck segment, walked at its own size in the established connection, is stopped, while
 * a segment the size of those acknowledged passes the same hops. Not PMTUD: no MTU is involved.
 */
function sizeDrop(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  const d = flow.data
  if (d?.stuckPacketLen === undefined || d.stuckPayload === undefined) return undefined
  const fromOpener = d.stuckFrom !== 'responder'
  const hops = fromOpener ? forwardHops(roles) : returnHops(roles)
  const w = walkPath(hops, stuckSegment(fromOpener, 'established', d.stuckPacketLen)).blocked
  if (!w || w.result.uncertain) return undefined
  // The acknowledged segments carried the same headers in front of a smaller payload.
  const ackedLen = d.stuckPacketLen - d.stuckPayload + d.maxAckedPayload
  const small = walkPath(hops, stuckSegment(fromOpener, 'established', ackedLen))
  if (small.blocked) return undefined
  const kind = classify(w, fromOpener ? 'opening' : 'reply') === 'policy' ? 'policy' : 'rule'
  const cause = walkCause(w, kind)
  const rule = withoutCounters(cause.rule)
  const on = w.hop.host.name ? `On ${w.hop.host.name}, ` : ''
  return {
    flow,
    cause,
    evidence: [
      walkEvidence(w),
      ...small.walks.filter((s) => s.hop === w.hop).map((s) => walkEvidence(s)),
      ...seen
    ],
    confidence: 0.8,
    explanation: `${on}${rule ? `the rule \`${rule}\`` : decision(w)} drops segments of ${d.stuckPacketLen} bytes (IP length) from ${fromOpener ? flow.src : flow.dst}, while segments of ${ackedLen} bytes pass: the connection stalls as soon as it sends full-size data. Walked through the snapshot, the ${d.stuckPacketLen}-byte segment stops at ${decision(w)}.`,
    fix: fixFor(flow, kind, w)
  }
}

/** A stalled flow: the PMTUD black hole, with the rule that drops frag-needed when a snapshot has it. */
function pmtud(flow: Flow, roles: FlowRoles, seen: Evidence[]): Draft | undefined {
  const path = icmpErrorPath(flow, roles)
  if (!path) return undefined
  const v6 = path.senderAddr.includes(':')
  const walked = walkPath(path.hops, () => path.sim)
  if (walked.blocked) {
    const w = walked.blocked
    const kind = classify(w, 'icmp')
    const cause = walkCause(w, kind === 'ct-invalid' ? 'ct-invalid' : 'pmtud-blackhole')
    return simulated(flow, w, 'pmtud-blackhole', cause, roles, seen, 0.8)
  }
  const sawIcmp = flow.data?.pathMtu !== undefined
  return {
    flow,
    cause: {
      kind: 'pmtud-blackhole',
      verdict: sawIcmp ? 'frag-needed lost on the way' : 'no frag-needed sent'
    },
    evidence: [...walked.walks.map((w) => walkEvidence(w)), ...seen],
    confidence: 0.45,
    explanation: sawIcmp
      ? `Full-size segments are retransmitted and never acknowledged even though a frag-needed was captured: it was lost before reaching the sender. A PMTUD black hole; clamp the MSS or let the ICMP through.`
      : `Small segments pass, full-size segments${flow.src.includes(':') ? '' : ' with DF'} are retransmitted and never acknowledged, and no ICMP ${flow.src.includes(':') ? 'packet-too-big' : 'frag-needed'} was seen: a PMTUD black hole (a router on the way drops big packets silently, or its ICMP is filtered before the captures).`,
    fix: mssClampFix(v6),
    missing: [
      'a capture on the router with the smaller MTU',
      'the rulesets of the hosts between the two ends'
    ]
  }
}

/** `unknown`, with what is missing to decide. */
function unknown(flow: Flow, ctx: DecideContext, roles: FlowRoles, seen: Evidence[]): Draft {
  const missing: string[] = []
  const e = roles.ends
  if (!roles.server)
    missing.push(`which host owns ${e.farDst} (an \`ip addr\` snapshot in its folder)`)
  for (const h of [roles.client, ...roles.routers, roles.server]) {
    if (!h) continue
    if (h.rulesets.length === 0)
      missing.push(`${h.name}'s ruleset (iptables-save or nft list ruleset)`)
    if (h.logs.length === 0)
      missing.push(`${h.name}'s kernel log (with LOG rules before its drops)`)
  }
  if (roles.routers.length === 0 && roles.server && roles.client === undefined)
    missing.push(`a capture or ruleset of the hosts between ${flow.src} and ${flow.dst}`)
  const walked = walkPath(forwardHops(roles), (h) => openingPacket(flow, h))
  const suspect = countedSuspect(flow, walked.walks, seen)
  if (suspect) return suspect
  const uncertain = walked.walks.filter((w) => w.result.uncertain)
  for (const w of uncertain)
    missing.push(...w.result.uncertainWhy.map((u) => `${w.hop.host.name}: ${u}`))
  return {
    flow,
    cause: { kind: 'unknown' },
    evidence: [...walked.walks.map((w) => walkEvidence(w)), ...seen],
    confidence: 0,
    explanation: `The captures show the ${flow.outcome.replace('-', ' ')}, but nothing loaded says why: ${walksSay(walked)}.`,
    missing: missing.length ? missing : ['a ruleset, log or capture of the device that dropped it']
  }
}

/**
 * Whether the evidence says the router does translate the flow's source, or never forwarded the
 * packet at all, either of which rules out a missing source NAT: a translation seen between
 * points, a SNAT or MASQUERADE rule the SYN meets on its way out of the router's snapshot, or a
 * server whose own capture never saw the SYN (it was not forwarded untranslated, it was lost).
 */
function sourceTranslated(
  flow: Flow,
  router: FlowRoles['routers'][number],
  roles: FlowRoles,
  serverSawSyn: boolean | undefined
): boolean {
  if (flow.nat) return true
  if (roles.server && roles.server.points.length > 0 && serverSawSyn === false) return true
  const hop = forwardHops(roles).find((h) => h.host === router)
  const sim = hop && openingPacket(flow, hop)
  if (!hop || !sim) return false
  return walkHop(hop, sim).some((w) =>
    w.result.trace.some((s) => s.matched && (s.action === 'masquerade' || s.action === 'snat'))
  )
}

/** What the walks of a failure nothing explained say, in words that do not contradict them. */
function walksSay(walked: { walks: Walk[]; blocked?: Walk }): string {
  if (walked.walks.length === 0) return 'no snapshot of a host on the way was loaded'
  const b = walked.blocked
  if (b)
    return `the walk through ${b.hop.host.name || 'a host'}'s ${baseName(b.ruleset.file)} ${b.result.verdict}s ${b.sim.what}${b.result.uncertain ? ' (uncertain)' : ''}, but that is not how the conversation failed, so it is not given as the cause`
  if (walked.walks.some((w) => w.result.uncertain))
    return 'the snapshots on the way accept it as far as their walks can decide, and what they cannot decide is listed as missing'
  return 'every snapshot on the way accepts it'
}

/** Returns whether an address is private (RFC 1918, CGNAT, ULA). */
function isPrivate(addr: string): boolean {
  return (
    /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)/.test(
      addr
    ) || /^f[cd]/i.test(addr)
  )
}

/** A cause found in a host's firewalld configuration: the zone setting, in firewall-cmd's terms. */
function firewalldDraft(
  flow: Flow,
  w: FirewalldWalk,
  kind: CauseKind | undefined,
  seen: Evidence[],
  log?: Evidence,
  alignment?: string
): Draft {
  const cause = firewalldCause(w, kind)
  const v = w.verdict
  // A policy between zones decides forwarded traffic, not the zone the packet came from.
  const zone = v.decidedBy.policy
    ? ` policy ${v.decidedBy.policy}`
    : v.zone
      ? ` zone ${v.zone}`
      : ''
  const setting = cause.rule ? `\`${cause.rule}\`` : 'its target'
  return {
    flow,
    cause,
    evidence: [...(log ? [log] : []), firewalldEvidence(w), ...seen],
    confidence: log ? 0.95 : v.uncertain ? 0.55 : 0.8,
    explanation: `${w.hop.host.name || 'The host'}'s firewalld${zone} ${v.verdict === 'reject' ? 'rejects' : 'drops'} ${w.sim.what} to ${endpointText(w.hop.ends.farDst, w.hop.ends.farDport)}: ${setting} decides it${cause.chain ? ` (nft chain ${cause.chain})` : ''}.${
      v.decidedBy.kind === 'icmp-block-inversion'
        ? ' With icmp-block-inversion the zone’s icmp-block list is the ICMP types it lets in, not those it blocks: the fix adds this type to that list.'
        : ''
    }`,
    fix: firewalldFixText(w),
    alignment
  }
}

/** A logged drop whose prefix firewalld wrote (log-denied, or a rich rule's log). */
function firewalldLogged(flow: Flow, l: FlowLog, seen: Evidence[]): Draft | undefined {
  const e = l.placed.event
  const located = firewalldLogCause(l.placed.host, e.prefix ?? '', e.packet)
  if (!located) return undefined
  const log = logEvidence(
    l,
    'proves',
    `the kernel${l.placed.host.name ? ` on ${l.placed.host.name}` : ''} logged ${describeRole(l.role, l.placed.event.packet)} with firewalld's prefix "${(e.prefix ?? '').trim()}"${located.zone ? ` (zone ${located.zone})` : located.policy ? ` (policy ${located.policy})` : ''}`
  )
  if (located.walk && located.walk.verdict.verdict !== 'accept')
    return firewalldDraft(
      flow,
      located.walk,
      l.role === 'reply' ? 'return-path' : undefined,
      seen,
      log,
      l.placed.alignment
    )
  return {
    flow,
    cause: located.cause,
    evidence: [log, ...seen],
    confidence: 0.85,
    explanation: `firewalld${located.zone ? ` (zone ${located.zone})` : ''} logged and refused ${describeRole(l.role, l.placed.event.packet)}; the line's prefix names the setting.`,
    alignment: l.placed.alignment
  }
}

/** The network a router reaches a source through (its connected prefix), else the address alone. */
function sourceNetwork(router: FlowRoles['routers'][number], addr: string): string {
  const v6 = addr.includes(':')
  const dev = interfaceToward(router, addr)
  const a = router.ipAddr?.value.interfaces
    .find((i) => i.name === dev)
    ?.addresses.find((x) => x.family === (v6 ? 6 : 4) && x.scope !== 'link')
  if (!a || v6) return `${addr}/${v6 ? 128 : 32}`
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0)
  const mask = a.prefixLen === 0 ? 0 : (0xffffffff << (32 - a.prefixLen)) >>> 0
  const net = (n & mask) >>> 0
  return `${[24, 16, 8, 0].map((b) => (net >>> b) & 255).join('.')}/${a.prefixLen}`
}

/** The limit rule rewritten with twice its rate and burst, replacing it in place. */
function limitFix(
  w: Walk,
  step: Walk['result']['trace'][number],
  burstAtLeast = 0
): string | undefined {
  const text = withoutCounters(step.rule)
  if (!text || step.line === undefined) return undefined
  const at = chainAt(w.ruleset.value, step.table, step.chain)
  const chain = at?.chain
  const index = chain ? ruleIndex(chain.rules, step) : -1
  if (!at || !chain || index < 0) return undefined
  const twice = (t: string): string =>
    t
      .replace(
        /(--limit|--hashlimit-upto|--hashlimit-above|--hashlimit|rate)\s+(over\s+)?(\d+)\//g,
        (_m, k: string, o: string | undefined, n: string) => `${k} ${o ?? ''}${Number(n) * 2}/`
      )
      .replace(
        /(--connlimit-above|--connlimit-upto|--hitcount|count over|count)\s+(\d+)(?![\d/])/g,
        (_m, k: string, n: string) => `${k} ${Number(n) * 2}`
      )
      // The kernel shares a hashlimit table by name and keeps the first rule's settings in it:
      // the doubled limit needs a table of its own (names are 15 characters at most).
      .replace(
        /(--hashlimit-name)\s+(\S+)/g,
        (_m, k: string, name: string) => `${k} ${name.slice(0, 13)}x2`
      )
      .replace(
        /(--limit-burst|--hashlimit-burst|burst)\s+(\d+)/g,
        (_m, k: string, n: string) =>
          `${k} ${k === '--hashlimit-burst' ? Number(n) * 2 : Math.max(Number(n) * 2, burstAtLeast)}`
      )
  if (w.ruleset.value.system === 'nftables') {
    const t = at.table
    const handle = chain.rules[index].handle
    return handle === undefined
      ? undefined
      : `nft replace rule ${t.family} ${t.name} ${step.chain} handle ${handle} ${twice(text)}`
  }
  const tool = w.ruleset.value.system === 'ip6tables' ? 'ip6tables' : 'iptables'
  const table = step.table === 'filter' ? '' : `-t ${step.table} `
  return `${tool} ${table}-R ${step.chain} ${index + 1} ${twice(text).replace(/^-A\s+\S+\s+/, '')}`
}
