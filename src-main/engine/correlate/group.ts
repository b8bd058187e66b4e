/**
 * Findings that share a cause become one: "14 SYN timeouts to
 * 10.0.0.5:8080: s1 filter INPUT line 7 `-A INPUT -p tcp --dport 8080 -j
 * DROP`". The group keeps every flow, the strongest evidence of each kind,
 * and the lowest confidence among its members.
 */

import type { Evidence, Finding, Outcome } from '../../shared/incident'
import type { Draft } from './decide'
import { withTraces } from './evidence-items'
import { withoutCounters } from './names'
import { endpointText } from './simulate'

const WORDS: Record<Outcome, [string, string]> = {
  established: ['established connection', 'established connections'],
  'syn-timeout': ['SYN timeout', 'SYN timeouts'],
  'refused-rst': ['refused connection', 'refused connections'],
  'icmp-unreachable': ['ICMP unreachable', 'ICMP unreachables'],
  'one-way': ['one-way handshake', 'one-way handshakes'],
  stalled: ['stalled transfer', 'stalled transfers'],
  'reset-midstream': ['mid-stream reset', 'mid-stream resets'],
  incomplete: ['incomplete conversation', 'incomplete conversations'],
  answered: ['answered exchange', 'answered exchanges'],
  unanswered: ['unanswered exchange', 'unanswered exchanges']
}

const ND_WORDS: [string, string] = [
  'unanswered neighbour discovery',
  'unanswered neighbour discoveries'
]

/** One source refused on at least this many ports of the same cause is a port scan. */
const SCAN_PORTS = 20
/** Commands a group's fix lists at most; the rest are counted. */
const MAX_FIX_LINES = 20
/**
 * Orders titles as English text whatever the machine's locale (the same findings get the same
 * ids everywhere): one collator for every comparison, where localeCompare makes one each call,
 * made when first needed (making one takes milliseconds, which every command would pay).
 */
let titleOrder: Intl.Collator | undefined
const byTitle = (a: string, b: string): number =>
  (titleOrder ??= new Intl.Collator('en-US')).compare(a, b)

/** Missing facts a group lists at most; the rest are counted. */
const MAX_MISSING = 20

/** Returns the findings, grouped by cause and outcome, most flows first. */
export function groupDrafts(drafts: Draft[]): Finding[] {
  // One source failing the same way on many destinations (a scan, a sweep, a host whose every
  // attempt out dies) is one story: one finding, not one per address and port. This gathers
  // causes placed by destination only (nothing listens, unknown); a rule's cause has its line.
  const keys = drafts.map(groupKey)
  const sources = drafts.map((d) => (d.cause.file === undefined ? sourceKey(d) : undefined))
  const targets = new Map<string, Set<string>>()
  for (let i = 0; i < drafts.length; i++) {
    const source = sources[i]
    if (source === undefined) continue
    const seen = targets.get(source)
    if (seen) seen.add(keys[i])
    else targets.set(source, new Set([keys[i]]))
  }
  const groups = new Map<string, Draft[]>()
  const sweeps = new Map<string, Draft[]>()
  for (let i = 0; i < drafts.length; i++) {
    const source = sources[i]
    const sweep = source !== undefined && targets.get(source)!.size >= SCAN_PORTS
    const into = sweep ? sweeps : groups
    const key = sweep ? source : keys[i]
    const list = into.get(key)
    if (list) list.push(drafts[i])
    else into.set(key, [drafts[i]])
  }
  const findings: Finding[] = []
  for (const list of groups.values()) findings.push(merge(list))
  for (const list of sweeps.values()) findings.push(merge(list, true))
  findings.sort(
    (a, b) =>
      b.flows.length - a.flows.length || b.confidence - a.confidence || byTitle(a.title, b.title)
  )
  findings.forEach((f, i) => (f.id = `N${i + 1}`))
  return findings
}

/** The key of a draft's cause and outcome, and where the cause is: its line, or its destination. */
function groupKey(d: Draft): string {
  const c = d.cause
  const where =
    c.file !== undefined
      ? `${c.file}:${c.line ?? ''}:${c.table ?? ''}:${c.chain ?? ''}`
      : `${c.host ?? ''}:${d.flow.dst}:${d.flow.dport ?? ''}`
  return `${c.kind}|${d.flow.outcome}|${c.host ?? ''}|${where}|${c.verdict ?? ''}`
}

/** The key of a draft's cause and outcome with its source (not its destination). */
function sourceKey(d: Draft): string {
  const c = d.cause
  return `${c.kind}|${d.flow.outcome}|${c.host ?? ''}|${c.verdict ?? ''}|${d.flow.src}`
}

/** Returns the finding of a group; `sweep`: one source's failures gathered over many destinations. */
function merge(list: Draft[], sweep = false): Finding {
  const first = list[0]
  const n = list.length
  // Neighbour discoveries nobody answered are of an address, not exchanges with it.
  const discovery = list.every((d) => d.flow.neighbourDiscovery)
  const words = discovery ? ND_WORDS : WORDS[first.flow.outcome]
  const targets = [...new Set(list.map((d) => endpointText(d.flow.dst, d.flow.dport)))]
  const to =
    (sweep ? `from ${first.flow.src} ${discovery ? 'of' : 'to'} ` : discovery ? 'of ' : 'to ') +
    (targets.length === 1
      ? targets[0]
      : `${grouped(targets.length)} ${discovery ? 'addresses' : 'destinations'}`)
  const evidence = withTraces(pickEvidence(list))
  const finding: Finding = {
    id: '',
    flows: list.map((d) => d.flow.id),
    outcome: first.flow.outcome,
    title: `${grouped(n)} ${n === 1 ? words[0] : words[1]} ${to}: ${causeWords(first)}`,
    cause: first.cause,
    confidence: list.reduce((min, d) => Math.min(min, d.confidence), Infinity),
    evidence,
    explanation:
      n === 1
        ? first.explanation
        : `${first.explanation} The same holds for ${grouped(n - 1)} other flow${n === 2 ? '' : 's'}.`
  }
  const scan = portScan(list)
  if (scan) {
    // A scan turned away is the firewall (or the host) at work: opening every port is no fix.
    const hosts = new Set(list.map((d) => d.flow.dst))
    const on = hosts.size === 1 ? first.flow.dst : `${grouped(hosts.size)} hosts`
    finding.title = `${grouped(n)} ${words[1]} from a port scan by ${scan.source} (${grouped(scan.ports)} ports on ${on}): ${causeWords(first)}`
    finding.explanation = `${scan.source} tried ${grouped(scan.ports)} ports on ${on}, each ending the same way (${words[1]}): a port scan. ${first.explanation} Turning a scan away is the firewall or the host doing its job, so no fix is proposed; if one of these ports should be open, its own flow shows the rule to change.`
  } else {
    const fix = mergeFixes(list.map((d) => d.fix))
    if (fix) finding.fix = fix
  }
  const missing = mergeMissing(list)
  if (missing.length) finding.missing = missing
  // Every finding says which clock alignment it used, including none.
  finding.alignment =
    list.find((d) => d.alignment)?.alignment ??
    "none needed: no log line is among this finding's evidence (capture times only)"
  return finding
}

/** Returns a count with its thousands grouped by commas (300,000), the same on every machine. */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** The cause in a few words: the host, where in its snapshot, and the rule as written. */
function causeWords(d: Draft): string {
  const c = d.cause
  const host = c.host ? `${c.host} ` : ''
  // The title drops iptables-save -c's counters; the cause keeps the line exactly as written.
  const rule = c.rule ? ` \`${withoutCounters(c.rule)}\`` : ''
  switch (c.kind) {
    case 'rule':
    case 'policy':
    case 'return-path':
    case 'egress':
    case 'ct-invalid':
    case 'pmtud-blackhole':
    case 'rate-limit':
    case 'nat':
      if (c.chain !== undefined)
        return `${c.kind === 'rule' ? '' : `${c.kind}, `}${host}${c.table ?? ''} ${c.chain}${c.line !== undefined ? ` line ${c.line}` : ''}${rule}`.trim()
      return `${c.kind}${c.host ? ` on ${c.host}` : ''}${c.verdict ? ` (${c.verdict})` : ''}${rule}`
    case 'conntrack-full':
      return `conntrack table full${c.host ? ` on ${c.host}` : ''}`
    case 'no-listener':
      return `nothing listens${c.host ? ` on ${c.host}` : ''}`
    case 'tcp-wrappers':
      return `TCP wrappers${c.host ? ` on ${c.host}` : ''}`
    case 'selinux':
      return `SELinux${c.host ? ` on ${c.host}` : ''}`
    default:
      // What was found without a rule to blame (a sysctl, as a reverse-path filter's).
      return c.rule ? `${host}\`${withoutCounters(c.rule)}\`` : 'cause unknown'
  }
}

/** The evidence of a group: the first flow's in full, then each other flow's strongest items, bounded. */
function pickEvidence(list: Draft[]): Evidence[] {
  const out = [...list[0].evidence]
  const rank = { proves: 0, predicts: 1, suggests: 2 }
  for (const d of list.slice(1, 20)) {
    const best = [...d.evidence].sort((a, b) => rank[a.weight] - rank[b.weight])[0]
    // Another flow's strongest item, unless the group says it already (one host fact for all).
    const said = (e: Evidence): boolean => out.some((x) => x.kind === e.kind && x.text === e.text)
    if (best && best.kind !== 'simulation' && !said(best)) out.push(best)
  }
  return out
}

/**
 * Returns the group's source and how many ports it tried when the group is a port scan: one
 * source, SCAN_PORTS or more destination ports.
 */
function portScan(list: Draft[]): { source: string; ports: number } | undefined {
  const source = list[0].flow.src
  if (list.some((d) => d.flow.src !== source)) return undefined
  const ports = new Set(list.map((d) => d.flow.dport))
  return ports.size >= SCAN_PORTS ? { source, ports: ports.size } : undefined
}

/**
 * Every distinct thing the group's flows miss, in order, at most MAX_MISSING of them (a last
 * item counts the rest): a sweep of 300,000 hosts misses the same kind of fact for each.
 */
function mergeMissing(list: Draft[]): string[] {
  const all = new Set<string>()
  for (const d of list) for (const m of d.missing ?? []) all.add(m)
  const out: string[] = []
  for (const m of all) {
    if (out.length === MAX_MISSING) break
    out.push(m)
  }
  if (all.size > out.length) out.push(`and ${grouped(all.size - out.length)} more like these`)
  return out
}

/**
 * Every distinct command of the group's fixes, in order, at most MAX_FIX_LINES of them (a
 * comment counts the rest); a reload or save command goes last.
 */
function mergeFixes(fixes: (string | undefined)[]): string | undefined {
  const lines = [...new Set(fixes.flatMap((f) => (f ? f.split('\n') : [])))]
  if (lines.length === 0) return undefined
  const last = (l: string): boolean => /--reload$|^(iptables|ip6tables|nft)-save|^nft list/.test(l)
  const commands = lines.filter((l) => !last(l))
  const shown = commands.slice(0, MAX_FIX_LINES)
  if (commands.length > shown.length)
    shown.push(`# and ${commands.length - shown.length} more commands like these`)
  return [...shown, ...lines.filter(last)].join('\n')
}
