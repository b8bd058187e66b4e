/**
 * Locates a logged packet in its host's snapshot: the packet is walked
 * through the ruleset on the path its IN= and OUT= fields give, and the walk
 * must pass the log rule with the line's prefix; the rule or policy that
 * then decided is the one that dropped it.
 */

import type { PathKind, WalkResult } from '../evaluate/walk-netfilter'
import type { LoggedPacket } from '../logs/log-event'
import type { CtState, Rule, Ruleset } from '../rulesets/model'
import { sysctlValue, type FromFile, type HostEvidence } from './evidence'
import { bridgesOf, brNetfilter } from './bridge'
import { perHost } from './host-memo'
import { quickVerdict } from './quick-verdict'
import {
  endpointText,
  hopOptions,
  simPacket,
  type Hop,
  type SimPacket,
  type StatefulMode,
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
  /**
   * The walk passed it only in a conntrack state other than the one the packet implies (the
   * walk's own): conntrack lost or never had the connection.
   */
  ctGuessed?: boolean
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
    if (f.has('URG')) letters += 'U'
    if (f.has('ECE')) letters += 'E'
    if (f.has('CWR')) letters += 'W'
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
  return findLogRules(host, prefix)[0]
}

/** Every log rule of a host's snapshots that writes the prefix, in file order. */
function findLogRules(host: HostEvidence, prefix: string): LogRule[] {
  const want = prefix.trim()
  return want === '' ? [] : (logRules(host).get(want) ?? [])
}

type LogRule = NonNullable<LoggedWalk['logRule']>

/**
 * A host's log rules by trimmed prefix, in file order, gathered once per host: a log of many
 * lines looks each prefix up, not every rule. One prefix may be written by several rules (the
 * same prefix in iptables and ip6tables, or before a rule and before the policy).
 */
const logRules = perHost(
  (h) => h.rulesets.length,
  (h) => {
    const rules = new Map<string, LogRule[]>()
    for (const ruleset of h.rulesets)
      for (const table of ruleset.value.tables)
        for (const chain of table.chains)
          for (const rule of chain.rules) {
            const prefix = logPrefix(rule)?.trim()
            if (!prefix) continue
            const one = { ruleset, table: table.name, chain: chain.name, rule }
            const list = rules.get(prefix)
            if (list) list.push(one)
            else rules.set(prefix, [one])
          }
    return rules
  }
)

/** Conntrack states a logged packet may have had that its own fields do not show, in turn. */
const OTHER_STATES: CtState[] = ['new', 'invalid', 'untracked']

/**
 * Walks a logged packet through its host's snapshots. The log rule is the one with the line's
 * prefix the walk passes (of several, the one this packet met); when no walk in the state the
 * packet implies passes one, the states it may have had instead (conntrack lost the connection,
 * or never had it: NEW, INVALID, untracked) are tried, as the kernel logged it in one of them.
 */
export function walkLogged(
  host: HostEvidence,
  p: LoggedPacket,
  prefix: string,
  ct?: CtState
): LoggedWalk {
  const rules = findLogRules(host, prefix)
  const first = walkIn(host, p, rules, ct)
  if (first.passedLogRule || rules.length === 0) return first
  // A log rule reached only past a match on rate or state (a limit, connlimit, recent): the
  // line proves the match went the way that reaches it.
  for (const mode of ['match', 'miss'] as const) {
    const again = walkIn(host, p, rules, ct, mode)
    if (again.passedLogRule) return again
  }
  if (ct !== undefined) return first
  // A segment of a connection conntrack lost is INVALID where it does not take such segments
  // up as new ones (nf_conntrack_tcp_loose=0): that state is tried first there.
  const tcpMid = p.proto.toUpperCase() === 'TCP' && !(p.flags ?? []).includes('SYN')
  const strict = tcpMid && sysctlValue(host, 'net.netfilter.nf_conntrack_tcp_loose')?.value === '0'
  const order: CtState[] = strict ? ['invalid', 'new', 'untracked'] : OTHER_STATES
  for (const other of order) {
    if (other === first.walk?.sim.ct) continue
    const again = walkIn(host, p, rules, other)
    if (again.passedLogRule) return { ...again, ctGuessed: true }
  }
  return first
}

function walkIn(
  host: HostEvidence,
  p: LoggedPacket,
  rules: LogRule[],
  ct: CtState | undefined,
  stateful: StatefulMode = 'unknown'
): LoggedWalk {
  // Without a walk that passes one, the log rule of the packet's family is the one to name.
  const v = p.src.includes(':') ? 6 : 4
  const logRule = rules.find((r) => familyOf(r) === v) ?? rules.find((r) => familyOf(r) === 0)
  const sim = loggedSim(p, ct)
  if (!sim) return { logRule: logRule ?? rules[0], passedLogRule: false }
  const walks = walkHop(loggedHop(host, p), sim, stateful)
  for (const w of walks) {
    const met = rules.find(
      (r) =>
        w.ruleset === r.ruleset &&
        w.result.trace.some(
          (s) =>
            s.matched && s.line === r.rule.source.line && s.table === r.table && s.chain === r.chain
        )
    )
    if (met) return { walk: w, logRule: met, passedLogRule: true }
  }
  const walk = walks.find((w) => w.result.verdict !== 'accept') ?? walks[0]
  return { walk, logRule: logRule ?? rules[0], passedLogRule: false }
}

/** The IP version a log rule's snapshot filters: 4 or 6, or 0 for both (nft inet). */
function familyOf(r: LogRule): 0 | 4 | 6 {
  const system = r.ruleset.value.system
  if (system === 'ip6tables') return 6
  if (system === 'iptables') return 4
  const t = r.ruleset.value.tables.find((x) => x.name === r.table)
  return t?.family === 'ip' ? 4 : t?.family === 'ip6' ? 6 : 0
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

/**
 * The hop a logged packet was at: its host, on the path IN= and OUT= give, through those
 * interfaces. A packet in and out by two ports of one bridge (a bridge-family log line), or by
 * the bridge itself with PHYSIN= and PHYSOUT= (br_netfilter's iptables line), was bridged.
 */
export function loggedHop(host: HostEvidence, p: LoggedPacket): Hop {
  const path = loggedPath(p)
  const hop: Hop = {
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
  if (path !== 'forward') return hop
  const bridges = bridgesOf(host)
  if (p.in === p.out && bridges.has(p.in) && (p.physIn || p.physOut))
    return {
      ...hop,
      path: 'bridge',
      iif: p.physIn,
      oif: p.physOut,
      bridge: p.in,
      brNetfilter: true
    }
  const master = [...bridges].find(([, ports]) => ports.includes(p.in) && ports.includes(p.out))
  if (master)
    return {
      ...hop,
      path: 'bridge',
      bridge: master[0],
      brNetfilter: brNetfilter(host, p.src.includes(':'))
    }
  return hop
}
