/**
 * Locates a logged packet in its host's snapshot: the packet is walked
 * through the ruleset on the path its IN= and OUT= fields give, and the walk
 * must pass the log rule with the line's prefix; the rule or policy that
 * then decided is the one that dropped it.
 */

import type { PathKind, WalkResult } from '../evaluate/walk-netfilter'
import type { LoggedPacket } from '../logs/log-event'
import type { CtState, Rule, Ruleset } from '../rulesets/model'
import type { FromFile, HostEvidence } from './evidence'
import { perHost } from './host-memo'
import { quickVerdict } from './quick-verdict'
import {
  endpointText,
  hopOptions,
  simPacket,
  type Hop,
  type SimPacket,
  type Walk,
  walkHop
} from './simulate'

/** Where a log line's prefix sits in a snapshot, and what the walk of its packet decided. */
export interface LoggedWalk {
  walk?: Walk
  /** The log rule the prefix names (when found in a snapshot). */
  logRule?: { ruleset: FromFile<Ruleset>; table: string; chain: string; rule: Rule }
  /** Whether the walk passed that log rule (the snapshot explains the line). */
  passedLogRule: boolean
}

/** Returns the path a logged packet took through its host, from IN= and OUT=. */
export function loggedPath(p: LoggedPacket): PathKind {
  if (p.in !== '' && p.out !== '') return 'forward'
  if (p.out !== '') return 'output'
  return 'input'
}

/** Returns the packet a log line describes, as a walkable packet. */
export function loggedSim(p: LoggedPacket, ct?: CtState): SimPacket | undefined {
  const proto = p.proto.toLowerCase()
  const src = endpointText(p.src, p.sport)
  const dst = endpointText(p.dst, p.dport)
  const facts = loggedFacts(p)
  if (proto === 'tcp') {
    const f = new Set(p.flags ?? [])
    let letters = ''
    if (f.has('SYN')) letters += 'S'
    if (f.has('FIN')) letters += 'F'
    if (f.has('RST')) letters += 'R'
    if (f.has('PSH')) letters += 'P'
    if (f.has('ACK')) letters += '.'
    const what = f.has('SYN')
      ? f.has('ACK')
        ? 'the SYN-ACK'
        : 'the SYN'
      : f.has('RST')
        ? 'the RST'
        : 'the segment'
    return simPacket(`tcp ${src} > ${dst} ${letters || '.'}${facts}`, what, ct)
  }
  if (proto === 'udp') return simPacket(`udp ${src} > ${dst}${facts}`, 'the datagram', ct)
  if ((proto === 'icmp' || proto === 'icmpv6') && p.icmpType !== undefined)
    return simPacket(
      `${proto} ${p.src} > ${p.dst} ${p.icmpType}/${p.icmpCode ?? 0}${facts}`,
      'the ICMP message',
      ct
    )
  return undefined
}

/**
 * The facts the log line gives about the packet as the logging chain saw it, as SPEC words:
 * its length, TTL, mark, socket owner and bridge ports, so rules on them are decided.
 */
function loggedFacts(p: LoggedPacket): string {
  const words: string[] = []
  if (p.len !== undefined) words.push(`len=${p.len}`)
  const ttl = p.ttl ?? p.hopLimit
  if (ttl !== undefined) words.push(`ttl=${ttl}`)
  if (p.mark !== undefined) words.push(`mark=${p.mark}`)
  if (p.uid !== undefined) words.push(`uid=${p.uid}`)
  if (p.gid !== undefined) words.push(`gid=${p.gid}`)
  if (p.physIn) words.push(`physin=${p.physIn}`)
  if (p.physOut) words.push(`physout=${p.physOut}`)
  return words.length > 0 ? ` ${words.join(' ')}` : ''
}

/** Returns the log rule named by a prefix in a host's snapshots, first match in file order. */
export function findLogRule(host: HostEvidence, prefix: string): LoggedWalk['logRule'] | undefined {
  const want = prefix.trim()
  return want === '' ? undefined : logRules(host).get(want)
}

type LogRule = NonNullable<LoggedWalk['logRule']>

/**
 * A host's log rules by trimmed prefix, the first in file order for each, gathered once per
 * host: a log of many lines looks each prefix up, not every rule.
 */
const logRules = perHost(
  (h) => h.rulesets.length,
  (h) => {
    const rules = new Map<string, LogRule>()
    for (const ruleset of h.rulesets)
      for (const table of ruleset.value.tables)
        for (const chain of table.chains)
          for (const rule of chain.rules) {
            const prefix = logPrefix(rule)?.trim()
            if (prefix && !rules.has(prefix))
              rules.set(prefix, { ruleset, table: table.name, chain: chain.name, rule })
          }
    return rules
  }
)

/** Walks a logged packet through its host's snapshots. */
export function walkLogged(
  host: HostEvidence,
  p: LoggedPacket,
  prefix: string,
  ct?: CtState
): LoggedWalk {
  const logRule = findLogRule(host, prefix)
  const sim = loggedSim(p, ct)
  if (!sim) return { logRule, passedLogRule: false }
  const hop = loggedHop(host, p)
  const walks = walkHop(hop, sim)
  const passes = (w: Walk): boolean =>
    logRule !== undefined &&
    w.ruleset === logRule.ruleset &&
    w.result.trace.some((s) => s.matched && s.line === logRule.rule.source.line)
  const walk = walks.find(passes) ?? walks.find((w) => w.result.verdict !== 'accept') ?? walks[0]
  return { walk, logRule, passedLogRule: walk !== undefined && passes(walk) }
}

/**
 * Returns the verdict (and reject type) of the walk walkLogged would choose for a logged packet,
 * or undefined when it makes no walk. A host with one snapshot has one walk to choose, and only
 * its verdict is asked (quickVerdict; a snapshot with no chain on the packet's hooks accepts
 * there, as walkLogged's missing walk counts). With several snapshots the choice depends on which
 * walk passes the log rule: they are walked.
 */
export function loggedVerdict(
  host: HostEvidence,
  p: LoggedPacket,
  prefix: string
): Pick<WalkResult, 'verdict' | 'rejectWith'> | undefined {
  if (host.rulesets.length !== 1) return walkLogged(host, p, prefix).walk?.result
  const sim = loggedSim(p)
  if (!sim) return undefined
  return quickVerdict(host.rulesets[0].value, sim.packet, hopOptions(loggedHop(host, p), sim))
}

/** The log prefix a rule writes: its LOG target's, or the log statement beside its verdict. */
function logPrefix(rule: Rule): string | undefined {
  if (rule.action.kind === 'log') return rule.action.prefix ?? ''
  return rule.log ? (rule.log.prefix ?? '') : undefined
}

/** The hop a logged packet was at: its host, on the path IN= and OUT= give, through those interfaces. */
export function loggedHop(host: HostEvidence, p: LoggedPacket): Hop {
  const path = loggedPath(p)
  return {
    host,
    ends: {
      src: p.src,
      sport: p.sport,
      dst: p.dst,
      dport: p.dport,
      farSrc: p.src,
      farSport: p.sport,
      farDst: p.dst,
      farDport: p.dport
    },
    role: path === 'forward' ? 'router' : path === 'output' ? 'client' : 'server',
    path,
    iif: p.in || undefined,
    oif: p.out || undefined
  }
}
