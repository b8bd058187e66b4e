import { problem, type Problem } from '../../shared/problem'
import { builtinService } from './builtin-services'
import type { FirewallSettings, FirewalldConfig, Zone } from './model'
import { readFirewalldConf } from './read-firewalld-conf'
import { readFirewalldXml } from './read-firewalld-xml'
import { looksLikeListAll, readListAll } from './read-list-all'
import { readXml } from './read-xml'
import { append } from '../../shared/append'

/** One input file: its path (used for names and precedence) and its text. */
export interface FirewalldFile {
  path: string
  text: string
}

/**
 * Returns the firewalld configuration a set of files describes: zone, policy,
 * service, ipset and icmptype XML (a copy of /etc/firewalld and
 * /usr/lib/firewalld), firewalld.conf and `firewall-cmd --list-all*` text.
 * Files under /etc/firewalld override the system's /usr/lib/firewalld ones of
 * the same name; zones split into zones/NAME/*.xml are combined, as firewalld
 * does. Never throws: what cannot be read is a problem with its file and line.
 */
export function readFirewalld(files: FirewalldFile[]): FirewalldConfig {
  const config: FirewalldConfig = {
    zones: new Map(),
    policies: new Map(),
    services: new Map(),
    ipsets: new Map(),
    icmptypes: new Map(),
    conf: { logDenied: 'off', backend: 'nftables' },
    problems: []
  }
  const problems = config.problems
  let listDefault: string | undefined
  const ordered = [...files].sort((a, b) => precedence(a.path) - precedence(b.path))
  const seen = new Map<string, string>()
  const claim = (key: string, path: string): void => {
    const before = seen.get(key)
    if (before !== undefined && precedence(before) === precedence(path))
      problems.push(
        problem(path, 'line 1', `${key} is also defined in ${before}; this one is kept`)
      )
    seen.set(key, path)
  }
  for (const f of ordered) {
    const text = f.text.replace(/^\uFEFF/, '')
    const base = f.path.split('/').pop() ?? f.path
    if (/^\s*</.test(text)) {
      const doc = readXml(text, f.path)
      append(problems, doc.problems)
      if (!doc.root) continue
      const combined = combinedZoneName(f.path)
      const def = readFirewalldXml(
        doc.root,
        combined ?? base.replace(/\.xml$/i, ''),
        f.path,
        problems
      )
      if (!def || def.kind === 'helper' || def.kind === 'lockdown') continue
      if (def.kind === 'zone') {
        const existing = combined ? config.zones.get(combined) : undefined
        if (existing) combineZone(existing, def.zone)
        else {
          if (!combined) claim(`zone ${def.zone.name}`, f.path)
          config.zones.set(def.zone.name, def.zone)
        }
      } else if (def.kind === 'policy') {
        claim(`policy ${def.policy.name}`, f.path)
        config.policies.set(def.policy.name, def.policy)
      } else if (def.kind === 'service') {
        claim(`service ${def.service.name}`, f.path)
        config.services.set(def.service.name, def.service)
      } else if (def.kind === 'ipset') config.ipsets.set(def.ipset.name, def.ipset)
      else config.icmptypes.set(def.icmptype.name, def.icmptype)
    } else if (
      base.endsWith('.conf') ||
      /^\s*(DefaultZone|FirewallBackend|LogDenied)=/m.test(text)
    ) {
      config.conf = readFirewalldConf(text, f.path, problems)
    } else if (looksLikeListAll(text)) {
      const list = readListAll(text, f.path, problems)
      for (const z of list.zones) config.zones.set(z.name, z)
      for (const p of list.policies) config.policies.set(p.name, p)
      listDefault = list.defaultZone ?? listDefault
    } else
      problems.push(
        problem(
          f.path,
          'line 1',
          'not a firewalld XML file, firewalld.conf or firewall-cmd --list-all output'
        )
      )
  }
  config.conf.defaultZone ??= listDefault
  resolveServices(config, problems)
  const dz = config.conf.defaultZone
  if (dz !== undefined && config.zones.size > 0 && !config.zones.has(dz))
    problems.push(
      problem(
        config.conf.where?.file ?? '(config)',
        `line ${config.conf.where?.line ?? 0}`,
        `default zone '${dz}' is not among the zones read`
      )
    )
  return config
}

/** /usr/lib/firewalld holds the shipped defaults; everything else (/etc/firewalld) overrides them. */
function precedence(path: string): number {
  return /(^|\/)usr\/lib\/firewalld\//.test(path) ? 0 : 1
}

function combinedZoneName(path: string): string | undefined {
  const m = /(?:^|\/)zones\/([^/]+)\/[^/]+\.xml$/i.exec(path)
  return m ? m[1] : undefined
}

function combineZone(into: Zone, more: Zone): void {
  for (const key of [
    'services',
    'ports',
    'protocols',
    'sourcePorts',
    'icmpBlocks',
    'forwardPorts',
    'rules'
  ] as const)
    (into[key] as unknown[]).push(...more[key])
  into.interfaces.push(...more.interfaces)
  into.sources.push(...more.sources)
  into.masquerade ||= more.masquerade
  into.forward ||= more.forward
  into.icmpBlockInversion ||= more.icmpBlockInversion
  if (more.target !== 'default') {
    into.target = more.target
    into.targetWhere = more.targetWhere
  }
}

function resolveServices(config: FirewalldConfig, problems: Problem[]): void {
  const need = (name: string, by: string, where: { file: string; line: number }): void => {
    if (config.services.has(name)) return
    const b = builtinService(name)
    if (b) {
      config.services.set(name, b)
      for (const inc of b.includes) need(inc, `service ${name}`, where)
      return
    }
    problems.push(
      problem(
        where.file,
        `line ${where.line}`,
        `service '${name}' (${by}) is not defined in the files read nor among firewalld's common services Verdict knows`
      )
    )
  }
  const each = (s: FirewallSettings, by: string): void => {
    for (const svc of s.services) need(svc.name, by, svc.where)
    for (const r of s.rules) if (r.element.kind === 'service') need(r.element.name, by, r.where)
  }
  for (const z of config.zones.values()) each(z, `zone ${z.name}`)
  for (const p of config.policies.values()) each(p, `policy ${p.name}`)
  for (const s of [...config.services.values()])
    for (const inc of s.includes) need(inc, `included by service ${s.name}`, s.where)
}
