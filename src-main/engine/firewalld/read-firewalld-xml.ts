import { problem, type Problem } from '../../shared/problem'
import { parseCidr } from '../rulesets/parse-address'
import type {
  FirewallSettings,
  FirewalldIpSet,
  IcmpTypeDef,
  Policy,
  PolicyTarget,
  Service,
  Where,
  Zone,
  ZoneTarget
} from './model'
import { emptySettings } from './empty-settings'
import { parseAddressSpec, parsePortProto } from './parse-values'
import { readRichRule } from './read-rich-rule'
import type { XmlElement } from './read-xml'

/** One definition read from a firewalld XML file. */
export type FirewalldDefinition =
  | { kind: 'zone'; zone: Zone }
  | { kind: 'policy'; policy: Policy }
  | { kind: 'service'; service: Service }
  | { kind: 'ipset'; ipset: FirewalldIpSet }
  | { kind: 'icmptype'; icmptype: IcmpTypeDef }
  | { kind: 'helper' }
  /** lockdown-whitelist.xml: which local programs may change firewalld; nothing about packets. */
  | { kind: 'lockdown' }

/**
 * Returns the zone, policy, service, ipset or icmptype a firewalld XML root
 * element defines (named `name`, from the file name), recording what it
 * cannot read in `problems` and keeping the rest.
 */
export function readFirewalldXml(
  root: XmlElement,
  name: string,
  file: string,
  problems: Problem[]
): FirewalldDefinition | undefined {
  const ctx: Ctx = { file, problems }
  switch (root.name) {
    case 'zone':
      return { kind: 'zone', zone: readZone(root, name, ctx) }
    case 'policy':
      return { kind: 'policy', policy: readPolicy(root, name, ctx) }
    case 'service':
      return { kind: 'service', service: readService(root, name, ctx) }
    case 'ipset':
      return { kind: 'ipset', ipset: readIpSet(root, name, ctx) }
    case 'icmptype':
      return { kind: 'icmptype', icmptype: readIcmpType(root, name, ctx) }
    case 'helper':
      return { kind: 'helper' }
    case 'whitelist':
      return { kind: 'lockdown' }
    default:
      problems.push(
        problem(file, `line ${root.line}`, `<${root.name}> is not a firewalld definition`)
      )
      return undefined
  }
}

/** Returns the rich rule text firewall-cmd prints for an XML `<rule>` element. */
export function richRuleText(el: XmlElement): string {
  const q = (k: string, v: string | undefined) => (v === undefined ? '' : ` ${k}="${v}"`)
  const parts = ['rule' + q('priority', el.attrs.priority) + q('family', el.attrs.family)]
  for (const c of el.children) {
    const attrs = Object.entries(c.attrs)
      .filter(([k]) => k !== 'invert')
      .map(([k, v]) => `${k}="${v}"`)
    const not = /^(true|yes)$/i.test(c.attrs.invert ?? '') ? ' NOT' : ''
    const limit = c.children.find((l) => l.name === 'limit')?.attrs.value
    parts.push(
      [c.name + not.toLowerCase(), ...attrs].join(' ') + (limit ? ` limit value="${limit}"` : '')
    )
  }
  return parts.join(' ')
}

interface Ctx {
  file: string
  problems: Problem[]
}

function where(ctx: Ctx, el: XmlElement): Where {
  return { file: ctx.file, line: el.line }
}

function complain(ctx: Ctx, el: XmlElement, message: string): void {
  ctx.problems.push(problem(ctx.file, `line ${el.line}`, message))
}

/** Reads a child element common to zones and policies; returns false when it is not one. */
function readSetting(c: XmlElement, s: FirewallSettings, ctx: Ctx): boolean {
  const w = where(ctx, c)
  const port = () => {
    const p = parsePortProto(`${c.attrs.port ?? ''}/${c.attrs.protocol ?? ''}`)
    if (!p) complain(ctx, c, `<${c.name}> needs port="N[-M]" and protocol="tcp|udp|sctp|dccp"`)
    return p
  }
  switch (c.name) {
    case 'short':
    case 'description':
      return true
    case 'service':
      if (c.attrs.name) s.services.push({ name: c.attrs.name, where: w })
      else complain(ctx, c, '<service> needs name=')
      return true
    case 'port':
    case 'source-port': {
      const p = port()
      if (p) (c.name === 'port' ? s.ports : s.sourcePorts).push({ port: p, where: w })
      return true
    }
    case 'protocol':
      if (c.attrs.value) s.protocols.push({ value: c.attrs.value, where: w })
      else complain(ctx, c, '<protocol> needs value=')
      return true
    case 'icmp-block':
      if (c.attrs.name) s.icmpBlocks.push({ name: c.attrs.name, where: w })
      else complain(ctx, c, '<icmp-block> needs name=')
      return true
    case 'icmp-block-inversion':
      s.icmpBlockInversion = true
      return true
    case 'masquerade':
      s.masquerade = true
      return true
    case 'forward-port': {
      const p = port()
      if (p)
        s.forwardPorts.push({
          port: p,
          toPort: c.attrs['to-port'],
          toAddr: c.attrs['to-addr'],
          where: w
        })
      return true
    }
    case 'rule': {
      const r = readRichRule(richRuleText(c), w)
      if (typeof r === 'string') complain(ctx, c, `rich rule: ${r}`)
      else s.rules.push(r)
      return true
    }
    default:
      return false
  }
}

function priorityOf(el: XmlElement, key: string, ctx: Ctx): number {
  const v = el.attrs[key]
  if (v === undefined) return 0
  const n = Number(v)
  if (Number.isInteger(n)) return n
  complain(ctx, el, `${key}="${v}" is not a number`)
  return 0
}

function readZone(el: XmlElement, name: string, ctx: Ctx): Zone {
  const w = where(ctx, el)
  let target: ZoneTarget = 'default'
  const t = el.attrs.target
  if (t === 'ACCEPT' || t === 'DROP' || t === '%%REJECT%%') target = t
  else if (t === 'REJECT') target = '%%REJECT%%'
  else if (t !== undefined && t !== 'default')
    complain(ctx, el, `zone target="${t}" is not default, ACCEPT, DROP or %%REJECT%%`)
  const zone: Zone = {
    ...emptySettings(name, w),
    target,
    targetWhere: w,
    interfaces: [],
    sources: [],
    forward: false,
    ingressPriority: priorityOf(
      el,
      el.attrs['ingress-priority'] ? 'ingress-priority' : 'priority',
      ctx
    ),
    egressPriority: priorityOf(
      el,
      el.attrs['egress-priority'] ? 'egress-priority' : 'priority',
      ctx
    )
  }
  for (const c of el.children) {
    if (readSetting(c, zone, ctx)) continue
    if (c.name === 'interface' && c.attrs.name)
      zone.interfaces.push({ name: c.attrs.name, where: where(ctx, c) })
    else if (c.name === 'source') {
      const text =
        c.attrs.address ?? (c.attrs.mac ? c.attrs.mac : c.attrs.ipset && `ipset:${c.attrs.ipset}`)
      const addr = text ? parseAddressSpec(text) : undefined
      if (addr) zone.sources.push({ addr, where: where(ctx, c) })
      else complain(ctx, c, `<source> address '${text ?? ''}' not understood`)
    } else if (c.name === 'forward') zone.forward = true
    else complain(ctx, c, `<${c.name}> is not a zone setting`)
  }
  return zone
}

function readPolicy(el: XmlElement, name: string, ctx: Ctx): Policy {
  const w = where(ctx, el)
  const t = el.attrs.target ?? 'CONTINUE'
  const known = ['CONTINUE', 'ACCEPT', 'DROP', 'REJECT']
  if (!known.includes(t))
    complain(ctx, el, `policy target="${t}" is not CONTINUE, ACCEPT, DROP or REJECT`)
  const policy: Policy = {
    ...emptySettings(name, w),
    target: (known.includes(t) ? t : 'CONTINUE') as PolicyTarget,
    targetWhere: w,
    priority: el.attrs.priority === undefined ? -1 : priorityOf(el, 'priority', ctx),
    ingressZones: [],
    egressZones: [],
    disabled: false
  }
  for (const c of el.children) {
    if (readSetting(c, policy, ctx)) continue
    if (c.name === 'disable') policy.disabled = true
    else if (c.name === 'ingress-zone' && c.attrs.name) policy.ingressZones.push(c.attrs.name)
    else if (c.name === 'egress-zone' && c.attrs.name) policy.egressZones.push(c.attrs.name)
    else complain(ctx, c, `<${c.name}> is not a policy setting`)
  }
  return policy
}

function readService(el: XmlElement, name: string, ctx: Ctx): Service {
  const s: Service = {
    name,
    where: where(ctx, el),
    ports: [],
    protocols: [],
    sourcePorts: [],
    destination: {},
    includes: [],
    helpers: []
  }
  for (const c of el.children) {
    // firewalld reads a service's <port port="" protocol="esp"/> as the protocol (ipsec.xml).
    if (c.name === 'port' && c.attrs.port === '' && c.attrs.protocol) {
      if (!s.protocols.includes(c.attrs.protocol)) s.protocols.push(c.attrs.protocol)
    } else if (c.name === 'port' || c.name === 'source-port') {
      const p = parsePortProto(`${c.attrs.port ?? ''}/${c.attrs.protocol ?? ''}`)
      if (p) (c.name === 'port' ? s.ports : s.sourcePorts).push(p)
      else complain(ctx, c, `<${c.name}> needs port="N[-M]" and protocol=`)
    } else if (c.name === 'protocol' && c.attrs.value) s.protocols.push(c.attrs.value)
    else if (c.name === 'destination') {
      for (const v of ['ipv4', 'ipv6'] as const) {
        if (c.attrs[v] === undefined) continue
        const cidr = parseCidr(c.attrs[v])
        if (cidr) s.destination[v] = cidr
        else complain(ctx, c, `<destination ${v}="${c.attrs[v]}"> not understood`)
      }
    } else if (c.name === 'include' && c.attrs.service) s.includes.push(c.attrs.service)
    else if ((c.name === 'helper' || c.name === 'module') && c.attrs.name)
      s.helpers.push(c.attrs.name)
    else if (c.name !== 'short' && c.name !== 'description')
      complain(ctx, c, `<${c.name}> is not a service setting`)
  }
  return s
}

function readIpSet(el: XmlElement, name: string, ctx: Ctx): FirewalldIpSet {
  const set: FirewalldIpSet = {
    name,
    type: el.attrs.type ?? '',
    family: 4,
    entries: [],
    where: where(ctx, el)
  }
  if (!el.attrs.type) complain(ctx, el, '<ipset> needs type=')
  for (const c of el.children) {
    if (c.name === 'option' && c.attrs.name === 'family' && c.attrs.value === 'inet6')
      set.family = 6
    else if (c.name === 'entry') set.entries.push(c.text.trim())
  }
  return set
}

function readIcmpType(el: XmlElement, name: string, ctx: Ctx): IcmpTypeDef {
  const def: IcmpTypeDef = { name, ipv4: true, ipv6: true, where: where(ctx, el) }
  const dests = el.children.filter((c) => c.name === 'destination')
  if (dests.length > 0) {
    def.ipv4 = dests.some((d) => d.attrs.ipv4 === 'yes')
    def.ipv6 = dests.some((d) => d.attrs.ipv6 === 'yes')
  }
  return def
}
