/**
 * Rule counters as evidence: `iptables-save -c` writes each rule's packets and bytes, nft the
 * `counter packets N bytes M` of a rule that counts. A rule (or policy) named as a cause that
 * counted packets did match traffic before the snapshot was taken; one that counted none did not.
 * And where the walk could not decide a rule (a recent list, an xt match nft cannot show), the
 * one on the way that drops and counted packets is the likely cause.
 */

import type { Cause, Evidence, Flow } from '../../shared/incident'
import type { Rule, Ruleset } from '../rulesets/model'
import { answersWith, rejectAnswer } from './reject-answer'
import type { EvidenceSet, FromFile } from './evidence'
import { chainAt } from './fix'
import { baseName, withoutCounters } from './names'
import type { Draft } from './decide'
import { walkEvidence } from './evidence-items'
import type { Walk } from './simulate'

/** The counter of a cause's rule or policy in its snapshot, as evidence. */
export function counterEvidence(cause: Cause, ev: EvidenceSet): Evidence | undefined {
  if (cause.file === undefined || cause.line === undefined || cause.table === undefined)
    return undefined
  const ruleset = ev.hosts.get(cause.host ?? '')?.rulesets.find((r) => r.file === cause.file)
  const at = ruleset && linesOf(ruleset).get(cause.line)
  if (!ruleset || !at || at.table !== cause.table || at.chain !== cause.chain) return undefined
  // nft keeps no counter on a policy; a bare `counter` rule ending the chain counts exactly what
  // falls through to it.
  const trailing = !at.rule && !at.policy ? trailingCounter(ruleset, at) : undefined
  const counted = at.rule ? at.rule.counters : (at.policy ?? trailing?.counters)
  if (!counted) return undefined
  const what = at.rule ? 'the rule' : `the ${at.chain} policy`
  return {
    kind: 'counter',
    weight: 'suggests',
    text: trailing
      ? `the ${at.chain} chain's last rule in ${baseName(ruleset.file)} (\`${withoutCounters(trailing.text)}\`, line ${trailing.source.line}) counts what falls through to its policy: ${counted.packets} packet${counted.packets === 1 ? '' : 's'} (${counted.bytes} bytes) before the snapshot was taken`
      : counted.packets > 0
        ? `${what}'s counter in ${baseName(ruleset.file)}: ${counted.packets} packet${counted.packets === 1 ? '' : 's'} (${counted.bytes} bytes) before the snapshot was taken`
        : `${what}'s counter in ${baseName(ruleset.file)} is 0: it had matched nothing when the snapshot was taken (taken before the incident, or the counters were reset)`,
    file: ruleset.file,
    line: cause.line,
    packets: counted.packets,
    bytes: counted.bytes
  }
}

/** A chain's last rule when it only counts (nft `counter`): what reaches the policy. */
function trailingCounter(ruleset: FromFile<Ruleset>, at: AtLine): Rule | undefined {
  const last = chainAt(ruleset.value, at.table, at.chain)?.chain.rules.at(-1)
  if (!last?.counters || last.matches.length > 0) return undefined
  return last.action.kind === 'continue' || last.action.kind === 'log' ? last : undefined
}

/** What a snapshot's line holds: a rule, or a chain's policy (with the chain's counters). */
interface AtLine {
  table: string
  chain: string
  rule?: Rule
  policy?: { packets: number; bytes: number }
}

/**
 * The rules and policies of a snapshot by line, made once per snapshot: findings by the
 * hundred thousand (a large drop log) each look their cause up.
 */
const byLine = new WeakMap<Ruleset, Map<number, AtLine>>()
function linesOf(ruleset: FromFile<Ruleset>): Map<number, AtLine> {
  let map = byLine.get(ruleset.value)
  if (map) return map
  map = new Map()
  /** Lines holding more than one rule or policy (nft JSON on one line): they name none. */
  const shared = new Set<number>()
  const put = (line: number, at: AtLine): void => {
    if (map!.has(line)) shared.add(line)
    else map!.set(line, at)
  }
  for (const t of ruleset.value.tables)
    for (const c of t.chains) {
      const line = c.policySource?.line
      if (line !== undefined) put(line, { table: t.name, chain: c.name, policy: c.counters })
      for (const rule of c.rules) put(rule.source.line, { table: t.name, chain: c.name, rule })
    }
  for (const line of shared) map.delete(line)
  byLine.set(ruleset.value, map)
  return map
}

/**
 * For a failure every walk accepts only because a rule could not be decided: the undecided rule
 * on the way that would have given the answer the flow got (a reject with the reset or the ICMP
 * error seen; for a silent drop, a drop or reject whose counter shows packets), as a cause of
 * moderate confidence, with no fix (what it depends on is state or content the snapshot does not
 * hold).
 */
export function countedSuspect(flow: Flow, walks: Walk[], seen: Evidence[]): Draft | undefined {
  const opening = flow.proto === 'tcp' ? (flow.synRetransmits ?? 0) + 1 : undefined
  const answered = flow.outcome === 'refused-rst' || flow.outcome === 'reset-midstream'
  const icmp = flow.outcome === 'icmp-unreachable' ? flow.icmp : undefined
  const v6 = flow.proto === 'icmpv6' || flow.src.includes(':')
  /** Whether a rule's verdict gives the answer the flow got. */
  const gives = (rule: Rule): boolean => {
    const a = rule.action
    if (a.kind !== 'drop' && a.kind !== 'reject') return false
    if (answered) return a.kind === 'reject' && rejectAnswer(a.with ?? '').tcpReset
    if (icmp) return a.kind === 'reject' && answersWith(a.with ?? '', icmp.type, icmp.code, v6)
    return true
  }
  for (const w of walks) {
    if (!w.result.uncertain) continue
    for (const why of w.result.uncertainWhy) {
      const line = Number(/^line (\d+):/.exec(why)?.[1])
      const found = Number.isInteger(line) ? ruleAtLine(w.ruleset, line) : undefined
      if (!found || !gives(found.rule)) continue
      const { rule, table, chain } = found
      const verdict = rule.action.kind as 'drop' | 'reject'
      const packets = rule.counters?.packets
      // A silent drop needs the rule's counter to point at it; a matching answer points at it
      // by itself, unless the rule counted nothing at all.
      if (packets === 0 || (packets === undefined && !answered && !icmp)) continue
      const cause: Cause = {
        kind: 'rule',
        system: w.ruleset.value.system,
        host: w.hop.host.name || undefined,
        file: w.ruleset.file,
        table,
        chain,
        line,
        rule: rule.text,
        verdict
      }
      const condition = why.replace(/^line \d+: /, '')
      const answer = answered ? 'the reset the flow got' : icmp ? 'the ICMP error the flow got' : ''
      const counted =
        packets !== undefined
          ? `its counter shows ${packets} packet${packets === 1 ? '' : 's'}${opening !== undefined && !answered ? ` (the captures show ${opening} SYN${opening === 1 ? '' : 's'} of this connection)` : ''}`
          : ''
      const because = [answer && `it answers with ${answer}`, counted]
        .filter(Boolean)
        .join(', and ')
      return {
        flow,
        cause,
        evidence: [walkEvidence(w), ...seen],
        confidence: answer ? 0.6 : 0.5,
        explanation: `The walk through ${w.hop.host.name || 'the host'}'s ${baseName(w.ruleset.file)} cannot decide \`${withoutCounters(rule.text)}\`: ${condition}. That rule ${verdict}s what it matches, ${because}: it most likely ${verdict === 'drop' ? 'dropped' : 'rejected'} ${w.sim.what}. What it depends on is state or content the snapshot does not hold, so no fix is proposed; change the rule's condition if such connections should pass.`,
        missing: [`${w.hop.host.name || 'the host'}: ${condition}`]
      }
    }
  }
  return undefined
}

/** The rule written at a line of a snapshot, with its table and chain. */
function ruleAtLine(
  ruleset: FromFile<Ruleset>,
  line: number
): { rule: Rule; table: string; chain: string } | undefined {
  const at = linesOf(ruleset).get(line)
  return at?.rule && { rule: at.rule, table: at.table, chain: at.chain }
}
