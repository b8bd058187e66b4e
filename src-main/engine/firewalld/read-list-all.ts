import { problem, type Problem } from '../../shared/problem'
import type { FirewallSettings, Policy, PolicyTarget, Where, Zone, ZoneTarget } from './model'
import { emptySettings } from './empty-settings'
import { parseAddressSpec, parsePortProto } from './parse-values'
import { readRichRule } from './read-rich-rule'

/** Zones and policies read from `firewall-cmd --list-all-zones` / `--list-all` / `--list-all-policies`. */
export interface ListAll {
  zones: Zone[]
  policies: Policy[]
  defaultZone?: string
}

interface Block {
  name: string
  line: number
  marks: string[]
  entries: { key: string; value: string; line: number; more: { text: string; line: number }[] }[]
}

/** Returns whether text looks like firewall-cmd's `--list-all` output (a zone line, then `  target:`). */
export function looksLikeListAll(text: string): boolean {
  return /^\S+( \([^)]*\))?\r?\n\s+(target|priority): /m.test(text)
}

/**
 * Returns the zones and policies in firewall-cmd's `--list-all*` text, each
 * setting with its line; lines it cannot read become problems.
 */
export function readListAll(text: string, file: string, problems: Problem[]): ListAll {
  const out: ListAll = { zones: [], policies: [] }
  for (const b of blocks(text, file, problems)) {
    if (b.marks.includes('default')) out.defaultZone = b.name
    const isPolicy = b.entries.some((e) => /^(ingress-zones|egress-zones|priority)$/.test(e.key))
    if (isPolicy) out.policies.push(toPolicy(b, file, problems))
    else out.zones.push(toZone(b, file, problems))
  }
  return out
}

function blocks(text: string, file: string, problems: Problem[]): Block[] {
  const out: Block[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '')
    if (line.trim() === '') return
    const head = /^(\S+)(?:\s+\(([^)]*)\))?\s*$/.exec(line)
    if (head && !/^\s/.test(line)) {
      out.push({ name: head[1], line: i + 1, marks: (head[2] ?? '').split(/,\s*/), entries: [] })
      return
    }
    const cur = out[out.length - 1]
    const kv = /^\s+([a-z][a-z0-9 -]*):(?:\s+(.*))?$/.exec(line)
    const last = cur?.entries[cur.entries.length - 1]
    if (cur && kv && !/^\s+(rule|port=)/.test(line)) {
      cur.entries.push({ key: kv[1], value: (kv[2] ?? '').trim(), line: i + 1, more: [] })
    } else if (last && /^\s/.test(line)) last.more.push({ text: line.trim(), line: i + 1 })
    else problems.push(problem(file, `line ${i + 1}`, 'not a zone line, a setting or a rule', raw))
  })
  return out
}

function words(e: Block['entries'][number]): { text: string; line: number }[] {
  const inline = e.value === '' ? [] : e.value.split(/\s+/).map((text) => ({ text, line: e.line }))
  return [...inline, ...e.more]
}

function fill(s: FirewallSettings, b: Block, file: string, problems: Problem[]): Block['entries'] {
  const rest: Block['entries'] = []
  const bad = (line: number, msg: string, raw: string) =>
    problems.push(problem(file, `line ${line}`, msg, raw))
  for (const e of b.entries) {
    const w = (line: number): Where => ({ file, line })
    switch (e.key) {
      case 'services':
        for (const x of words(e)) s.services.push({ name: x.text, where: w(x.line) })
        break
      case 'ports':
      case 'source-ports':
        for (const x of words(e)) {
          const p = parsePortProto(x.text)
          if (!p) bad(x.line, `port '${x.text}' is not PORT[-PORT]/PROTO`, x.text)
          else (e.key === 'ports' ? s.ports : s.sourcePorts).push({ port: p, where: w(x.line) })
        }
        break
      case 'protocols':
        for (const x of words(e)) s.protocols.push({ value: x.text, where: w(x.line) })
        break
      case 'icmp-blocks':
        for (const x of words(e)) s.icmpBlocks.push({ name: x.text, where: w(x.line) })
        break
      case 'icmp-block-inversion':
        s.icmpBlockInversion = e.value === 'yes'
        break
      case 'masquerade':
        s.masquerade = e.value === 'yes'
        break
      case 'forward-ports':
        for (const x of words(e)) {
          const f = Object.fromEntries(x.text.split(':').map((kv) => kv.split('=')))
          const p = parsePortProto(`${f.port ?? ''}/${f.proto ?? ''}`)
          if (!p) bad(x.line, `forward-port '${x.text}' not understood`, x.text)
          else
            s.forwardPorts.push({
              port: p,
              toPort: f.toport || undefined,
              toAddr: f.toaddr || undefined,
              where: w(x.line)
            })
        }
        break
      case 'rich rules':
        for (const x of [...(e.value ? [{ text: e.value, line: e.line }] : []), ...e.more]) {
          const r = readRichRule(x.text, w(x.line))
          if (typeof r === 'string') bad(x.line, `rich rule: ${r}`, x.text)
          else s.rules.push(r)
        }
        break
      default:
        rest.push(e)
    }
  }
  return rest
}

function toZone(b: Block, file: string, problems: Problem[]): Zone {
  const zone: Zone = {
    ...emptySettings(b.name, { file, line: b.line }),
    target: 'default',
    targetWhere: { file, line: b.line },
    interfaces: [],
    sources: [],
    forward: false,
    ingressPriority: 0,
    egressPriority: 0
  }
  for (const e of fill(zone, b, file, problems)) {
    if (e.key === 'target') {
      const t = e.value === 'REJECT' ? '%%REJECT%%' : e.value
      if (['default', 'ACCEPT', 'DROP', '%%REJECT%%'].includes(t)) zone.target = t as ZoneTarget
      else problems.push(problem(file, `line ${e.line}`, `zone target '${e.value}' not understood`))
      zone.targetWhere = { file, line: e.line }
    } else if (e.key === 'interfaces')
      for (const x of words(e))
        zone.interfaces.push({ name: x.text, where: { file, line: x.line } })
    else if (e.key === 'sources')
      for (const x of words(e)) {
        const addr = parseAddressSpec(x.text)
        if (addr) zone.sources.push({ addr, where: { file, line: x.line } })
        else
          problems.push(
            problem(file, `line ${x.line}`, `source '${x.text}' not understood`, x.text)
          )
      }
    else if (e.key === 'forward') zone.forward = e.value === 'yes'
    else if (e.key === 'ingress-priority') zone.ingressPriority = Number(e.value) || 0
    else if (e.key === 'egress-priority') zone.egressPriority = Number(e.value) || 0
  }
  return zone
}

function toPolicy(b: Block, file: string, problems: Problem[]): Policy {
  const policy: Policy = {
    ...emptySettings(b.name, { file, line: b.line }),
    target: 'CONTINUE',
    targetWhere: { file, line: b.line },
    priority: -1,
    ingressZones: [],
    egressZones: [],
    disabled: false
  }
  for (const e of fill(policy, b, file, problems)) {
    if (e.key === 'target') {
      if (['CONTINUE', 'ACCEPT', 'DROP', 'REJECT'].includes(e.value))
        policy.target = e.value as PolicyTarget
      else
        problems.push(problem(file, `line ${e.line}`, `policy target '${e.value}' not understood`))
      policy.targetWhere = { file, line: e.line }
    } else if (e.key === 'disabled') policy.disabled = e.value === 'yes'
    else if (e.key === 'priority') policy.priority = Number(e.value) || 0
    else if (e.key === 'ingress-zones') policy.ingressZones = words(e).map((x) => x.text)
    else if (e.key === 'egress-zones') policy.egressZones = words(e).map((x) => x.text)
  }
  return policy
}
