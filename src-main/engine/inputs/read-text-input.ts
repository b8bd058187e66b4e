import type { InputInfo } from '../../shared/incident'
import type { FromFile, HostEvidence } from '../correlate/evidence'
import { readFirewalldFile } from '../correlate/host-firewalld'
import { readConntrack } from '../hostfacts/read-conntrack'
import { readIpAddr, type IpAddrSnapshot } from '../hostfacts/read-ip-addr'
import { readIpRoute } from '../hostfacts/read-ip-route'
import { IP_RULE_LINE, readIpRule } from '../hostfacts/read-ip-rule'
import { readSs } from '../hostfacts/read-ss'
import { readSysctl } from '../hostfacts/read-sysctl'
import { readLog } from '../logs/read-log'
import type { Problem } from '../../shared/problem'
import { readIpsetSave } from '../rulesets/read-ipset'
import { readRuleset } from '../rulesets/read-ruleset'
import { append } from '../../shared/append'

/** Text inputs larger than this are not snapshots or logs Verdict can hold whole. */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024

/**
 * Reads a ruleset, ipset, firewalld, host-facts, conntrack or sysctl snapshot, keeps
 * what it says on its host's evidence, and records on its input what was
 * read (records) and what was not (warnings with lines).
 */
export function readTextInput(info: InputInfo, text: string, host: HostEvidence): void {
  const file = info.path
  const keep = (records: number, problems: Problem[]): void => {
    info.records = records
    for (const p of problems) info.warnings.push(`${p.at}: ${p.message}`)
  }
  if (info.kind === 'ruleset' && info.format === 'ipset') {
    const { sets, problems } = readIpsetSave(file, text)
    host.ipsets.push({ file, value: sets })
    keep(
      [...sets.values()].reduce((n, s) => n + s.members.length, 0),
      problems
    )
    return
  }
  if (info.kind === 'ruleset' && info.format.startsWith('firewalld')) {
    // The host's firewalld files are read together as one configuration when correlating.
    host.firewalldFiles.push({ path: file, text })
    const r = readFirewalldFile(file, text)
    keep(r.records, r.problems)
    return
  }
  if (info.kind === 'ruleset') {
    const r = readRuleset(file, text)
    if (typeof r === 'string') {
      info.warnings.push(r)
      return
    }
    host.rulesets.push({ file, value: r })
    keep(
      r.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0),
      r.problems
    )
    return
  }
  if (info.kind === 'conntrack') {
    const t = readConntrack(file, text)
    host.conntrack = { file, value: t }
    keep(t.entries.length, t.problems)
    return
  }
  if (info.kind === 'sysctl') {
    const s = readSysctl(file, text)
    host.sysctl.push({ file, value: s })
    keep(s.values.size, s.problems)
    return
  }
  if (info.kind === 'host' && info.format === 'ip-addr') {
    const a = readIpAddr(file, text)
    host.ipAddr = host.ipAddr ? mergeIpAddr(host.ipAddr, { file, value: a }) : { file, value: a }
    keep(a.interfaces.length, a.problems)
    return
  }
  if (info.kind === 'host' && info.format === 'ip-route') {
    const r = readIpRoute(file, text)
    host.routes.push({ file, value: r })
    keep(r.routes.length, r.problems)
    return
  }
  if (info.kind === 'host' && info.format === 'ip-rule') {
    const r = readIpRule(file, text)
    host.ipRules.push({ file, value: r })
    let records = r.rules.length
    const problems = [...r.problems]
    // `ip rule; ip route show table all` in one file: the other lines are routes (kept in place,
    // so their line numbers stay the file's).
    if (r.format === 'text') {
      const rest = text
        .split('\n')
        .map((l) => (IP_RULE_LINE.test(l) ? '' : l))
        .join('\n')
      if (rest.trim() !== '') {
        const routes = readIpRoute(file, rest)
        host.routes.push({ file, value: routes })
        records += routes.routes.length
        problems.push(...routes.problems)
      }
    }
    keep(records, problems)
    return
  }
  if (info.kind === 'host' && info.format === 'ss') {
    const s = readSs(file, text)
    host.ss = { file, value: s }
    keep(s.listeners.length, s.problems)
    return
  }
  if (info.kind === 'log') {
    const l = readLog(file, text)
    append(host.logs, l.events)
    host.logFiles.push(file)
    keep(l.events.length, l.problems)
    if (l.wrappers.length) info.format = `${info.format} (${l.wrappers.join(', ')})`
    if (l.ignored > 0)
      info.warnings.push(`${l.ignored} of ${l.lines} lines are not events Verdict reads (kept out)`)
    return
  }
  info.warnings.push(`${info.format} files are recognised but not analysed yet`)
}

/**
 * Two snapshots of one host's interfaces (`ip addr` and `ip -d link`, or `bridge link`, which
 * prints the bridge ports in the same form) as one: each interface once, with the facts either
 * gives. The file named is the one that gives addresses.
 */
export function mergeIpAddr(
  x: FromFile<IpAddrSnapshot>,
  y: FromFile<IpAddrSnapshot>
): FromFile<IpAddrSnapshot> {
  const count = (s: IpAddrSnapshot): number =>
    s.interfaces.reduce((n, i) => n + i.addresses.length, 0)
  const [main, other] = count(y.value) > count(x.value) ? [y, x] : [x, y]
  const interfaces = main.value.interfaces.map((i) => ({ ...i, addresses: [...i.addresses] }))
  for (const o of other.value.interfaces) {
    const same = interfaces.find((i) => i.name === o.name)
    if (!same) {
      interfaces.push(o)
      continue
    }
    same.master ??= o.master
    same.hairpin ??= o.hairpin
    same.mtu ??= o.mtu
    same.state ??= o.state
    same.link ??= o.link
    if (same.flags.length === 0) same.flags = o.flags
    for (const a of o.addresses)
      if (!same.addresses.some((b) => b.address === a.address && b.prefixLen === a.prefixLen))
        same.addresses.push(a)
  }
  return {
    file: main.file,
    value: {
      format: main.value.format,
      interfaces,
      problems: [...x.value.problems, ...y.value.problems]
    }
  }
}
