/**
 * What-if: a change written as the user would type it (`iptables -I INPUT 3
 * -p tcp --dport 8080 -j ACCEPT`, `nft insert rule inet filter input handle
 * 7 tcp dport 8080 accept`, `sysctl -w net.ipv4.ip_forward=1`), optionally
 * prefixed by the host (`s1: iptables ...`), applied to copies of the
 * snapshots; then every observed flow is walked again, and the flows whose
 * fate changes are listed: the failures it resolves and the blast radius.
 */

import type { Incident, WhatIf } from '../../shared/incident'
import type { SysctlFacts } from '../hostfacts/read-sysctl'
import type { Rule, Ruleset } from '../rulesets/model'
import { readIptablesSave } from '../rulesets/read-iptables-save'
import { readNft } from '../rulesets/read-nft'
import type { DecideContext } from './decide'
import { simulatedFate } from './fate'
import type { EvidenceSet, HostEvidence } from './evidence'

/** One parsed change: which snapshots it touches and what it does to a copy of one. */
interface Change {
  host?: string
  applies(r: Ruleset): boolean
  apply(r: Ruleset): string | undefined
  sysctl?: { key: string; value: string }
}

/**
 * The commands of a change: one, or several on lines of their own as Verdict's fixes give them
 * (or joined by `; ` on one line; a `;` inside an nft command, as in `{ type nat hook
 * postrouting priority srcnat; }`, is not followed by a command's name).
 */
export function splitCommands(text: string): string[] {
  return text
    .split(/\n|;\s+(?=(?:[\w.-]+:\s+)?(?:iptables|ip6tables|nft|sysctl)\s)/)
    .map((c) => c.trim())
    .filter((c) => c !== '')
}

/**
 * Applies a change (its commands in order) to copies of the snapshots and compares every flow's
 * simulated fate.
 */
export function runWhatIf(
  text: string,
  incident: Incident,
  ev: EvidenceSet,
  ctx: DecideContext
): WhatIf {
  const parsed: Change[] = []
  for (const command of splitCommands(text)) {
    const change = parseChange(command)
    if (typeof change === 'string')
      return { change: text, resolves: [], changes: [], problems: [change] }
    // A host named before the first command is the host of those that name none.
    change.host ??= parsed[0]?.host
    parsed.push(change)
  }
  if (parsed.length === 0)
    return { change: text, resolves: [], changes: [], problems: ['no command given'] }
  const problems: string[] = []
  let changed = ev
  for (const change of parsed) changed = applyChange(change, changed, problems)
  const findingOf = new Map(incident.findings.flatMap((f) => f.flows.map((id) => [id, f] as const)))
  const result: WhatIf = { change: text, resolves: [], changes: [] }
  for (const flow of incident.flows) {
    const before = simulatedFate(flow, ev)
    const after = simulatedFate(flow, changed)
    if (before === after) continue
    const finding = findingOf.get(flow.id)
    if (finding && after === 'accept') result.resolves.push(flow.id)
    else result.changes.push({ flow: flow.id, before, after })
  }
  void ctx
  if (problems.length) result.problems = problems
  return result
}

/** Returns the evidence with one change applied to copies of what it touches. */
function applyChange(parsed: Change, ev: EvidenceSet, problems: string[]): EvidenceSet {
  const changed: EvidenceSet = { hosts: new Map() }
  let touched = 0
  for (const [name, h] of ev.hosts) {
    const copy: HostEvidence = { ...h, rulesets: h.rulesets, sysctl: h.sysctl }
    if (parsed.host === undefined || parsed.host === name) {
      if (parsed.sysctl) {
        copy.sysctl = [
          ...h.sysctl.map((s) => ({
            file: s.file,
            value: { ...s.value, values: new Map(s.value.values), facts: { ...s.value.facts } }
          }))
        ]
        if (copy.sysctl.length) {
          // Every snapshot of the host takes the value (the first one read is the one used).
          for (const c of copy.sysctl) c.value.values.set(parsed.sysctl.key, parsed.sysctl.value)
          applySysctl(copy.sysctl[0].value.facts, parsed.sysctl.key, parsed.sysctl.value)
          touched++
        }
      } else
        copy.rulesets = h.rulesets.map((r) => {
          if (!parsed.applies(r.value)) return r
          const clone = structuredClone(r.value)
          const err = parsed.apply(clone)
          if (err) {
            problems.push(`${r.file}: ${err}`)
            return r
          }
          touched++
          return { file: r.file, value: clone }
        })
    }
    changed.hosts.set(name, copy)
  }
  if (touched === 0)
    problems.push(
      `no loaded snapshot${parsed.host ? ` of ${parsed.host}` : ''} has what the change names`
    )
  return changed
}

function applySysctl(facts: SysctlFacts, key: string, value: string): void {
  const on = value.trim() !== '0'
  if (key === 'net.ipv4.ip_forward' || key === 'net.ipv4.conf.all.forwarding')
    facts.ipv4Forwarding = on
  if (key === 'net.ipv6.conf.all.forwarding') facts.ipv6Forwarding = on
  if (key === 'net.netfilter.nf_conntrack_max') facts.conntrackMax = Number(value)
}

/** Returns the change a command line describes, or what is wrong with it. */
export function parseChange(text: string): Change | string {
  let rest = text.trim()
  let host: string | undefined
  const prefixed = /^([\w.-]+):\s+(.*)$/.exec(rest)
  if (prefixed && !/^(iptables|ip6tables|nft|sysctl)$/.test(prefixed[1])) {
    host = prefixed[1]
    rest = prefixed[2]
  }
  const words = rest.split(/\s+/)
  const tool = words[0]
  if (tool === 'sysctl') {
    const kv = words.find((w) => w.includes('='))
    if (!kv) return `sysctl change needs KEY=VALUE: '${text}'`
    const [key, value] = kv.split('=')
    return { host, applies: () => false, apply: () => undefined, sysctl: { key, value } }
  }
  if (tool === 'iptables' || tool === 'ip6tables')
    return iptablesChange(host, tool, rest.slice(tool.length).trim(), text)
  if (tool === 'nft') return nftChange(host, rest.slice(3).trim(), text)
  return `what-if changes are iptables, ip6tables, nft or sysctl commands: '${text}'`
}

const BUILTIN = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING'])

function iptablesChange(
  host: string | undefined,
  tool: string,
  args: string,
  text: string
): Change | string {
  let table = 'filter'
  const t = /^(?:-t|--table)\s+(\S+)\s+(.*)$/.exec(args)
  if (t) {
    table = t[1]
    args = t[2]
  }
  const m = /^(-I|--insert|-A|--append|-D|--delete|-R|--replace|-P|--policy)\s+(\S+)\s*(.*)$/.exec(
    args
  )
  if (!m) return `iptables change must be -I, -A, -D, -R or -P CHAIN ...: '${text}'`
  const op = m[1].replace(/^--/, '-').slice(0, 2).toUpperCase().replace('-I', '-I')
  const chainName = m[2]
  let body = m[3]
  let position: number | undefined
  const num = /^(\d+)(?:\s+(.*))?$/.exec(body)
  if (num && op !== '-P') {
    position = Number(num[1])
    body = num[2] ?? ''
  }
  const family = tool === 'ip6tables' ? 'ip6' : 'ip'
  const rule =
    body && op !== '-P' ? parseIptablesRule(table, chainName, body, family, text) : undefined
  if (typeof rule === 'string') return rule
  return {
    host,
    applies: (r) => (tool === 'ip6tables' ? r.system === 'ip6tables' : r.system === 'iptables'),
    apply(r) {
      const tbl = r.tables.find((x) => x.name === table)
      const chain = tbl?.chains.find((c) => c.name === chainName)
      if (!chain) return `no chain ${chainName} in table ${table}`
      const at = (position ?? 1) - 1
      switch (op) {
        case '-I':
          if (!rule) return 'nothing to insert'
          if (at > chain.rules.length) return `${chainName} has only ${chain.rules.length} rules`
          chain.rules.splice(at, 0, rule)
          return undefined
        case '-A':
          if (!rule) return 'nothing to append'
          chain.rules.push(rule)
          return undefined
        case '-R':
          if (!rule || position === undefined || !chain.rules[at])
            return `no rule ${position} in ${chainName}`
          chain.rules[at] = rule
          return undefined
        case '-D': {
          const i = position !== undefined ? at : chain.rules.findIndex((x) => sameRule(x, rule))
          if (i < 0 || !chain.rules[i]) return `no such rule in ${chainName}`
          chain.rules.splice(i, 1)
          return undefined
        }
        case '-P': {
          if (!chain.base) return `${chainName} is not a built-in chain`
          const p = body.trim().toUpperCase()
          if (p !== 'ACCEPT' && p !== 'DROP') return `policy must be ACCEPT or DROP`
          chain.base.policy = p === 'ACCEPT' ? 'accept' : 'drop'
          chain.policySource = { line: 0, text: `:${chainName} ${p} (what-if)` }
          return undefined
        }
      }
      return `unknown operation ${op}`
    }
  }
}

function parseIptablesRule(
  table: string,
  chain: string,
  body: string,
  family: 'ip' | 'ip6',
  text: string
): Rule | string {
  const header = family === 'ip6' ? '# Generated by ip6tables-save\n' : ''
  const declare = BUILTIN.has(chain) ? `:${chain} ACCEPT [0:0]` : `:${chain} - [0:0]`
  const snap = readIptablesSave(
    'what-if',
    `${header}*${table}\n${declare}\n-A ${chain} ${body}\nCOMMIT\n`
  )
  if (snap.problems.length) return `${snap.problems[0].message}: '${text}'`
  const rule = snap.tables[0]?.chains.find((c) => c.name === chain)?.rules[0]
  if (!rule) return `could not read the rule of '${text}'`
  rule.source = { line: 0, text: `-A ${chain} ${body}` }
  return rule
}

function nftChange(host: string | undefined, args: string, text: string): Change | string {
  const m =
    /^(insert|add|delete|replace)\s+rule\s+(?:(ip|ip6|inet|arp|bridge|netdev)\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(
      args
    )
  if (!m)
    return `nft change must be insert|add|delete|replace rule [FAMILY] TABLE CHAIN ...: '${text}'`
  const [, op, familyText, tableName, chainName] = m
  const family = familyText ?? 'ip'
  let body = m[5]
  let handle: number | undefined
  let index: number | undefined
  const pos = /^(handle|position|index)\s+(\d+)\s*(.*)$/.exec(body)
  if (pos) {
    if (pos[1] === 'index') index = Number(pos[2])
    else handle = Number(pos[2])
    body = pos[3]
  }
  let rule: Rule | undefined
  if (op !== 'delete') {
    const snap = readNft(
      'what-if',
      `table ${family} ${tableName} {\n chain ${chainName} {\n  ${body}\n }\n}\n`
    )
    if (snap.problems.length) return `${snap.problems[0].message}: '${text}'`
    rule = snap.tables[0]?.chains[0]?.rules[0]
    if (!rule) return `could not read the rule of '${text}'`
    rule.source = { line: 0, text: body }
  }
  return {
    host,
    applies: (r) => r.system === 'nftables',
    apply(r) {
      const tbl = r.tables.find((x) => x.name === tableName && x.family === family)
      const chain = tbl?.chains.find((c) => c.name === chainName)
      if (!chain) return `no chain ${family} ${tableName} ${chainName}`
      let at: number
      if (handle !== undefined) {
        at = chain.rules.findIndex((x) => x.handle === handle)
        if (at < 0) return `no rule with handle ${handle} in ${chainName}`
      } else at = index ?? (op === 'insert' ? 0 : chain.rules.length)
      if (op === 'delete') {
        if (handle === undefined) return 'nft delete rule needs a handle'
        chain.rules.splice(at, 1)
      } else if (op === 'replace') chain.rules[at] = rule!
      else if (op === 'insert') chain.rules.splice(at, 0, rule!)
      else
        chain.rules.splice(
          handle !== undefined || index !== undefined ? at + 1 : chain.rules.length,
          0,
          rule!
        )
      return undefined
    }
  }
}

function sameRule(a: Rule, b: Rule | undefined): boolean {
  return (
    b !== undefined && a.text.replace(/^-A\s+\S+\s+/, '') === b.text.replace(/^-A\s+\S+\s+/, '')
  )
}
