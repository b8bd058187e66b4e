import type { AddressSpec, PortProto, RichAction, RichElement, RichRule, Where } from './model'
import { parseAddressSpec, parsePortProto } from './parse-values'

type Token = { key: string; value?: string }

const ELEMENT_KEYS: Record<string, string[]> = {
  service: ['name'],
  port: ['port', 'protocol'],
  'source-port': ['port', 'protocol'],
  protocol: ['value'],
  'icmp-block': ['name'],
  'icmp-type': ['name'],
  masquerade: [],
  'forward-port': ['port', 'protocol', 'to-port', 'to-addr'],
  'tcp-mss-clamp': ['value']
}

/**
 * Returns the rich rule a `rule ...` string describes (firewall-cmd's rich
 * language), or a message saying what is wrong with it.
 */
export function readRichRule(text: string, where: Where): RichRule | string {
  const tokens = tokenize(text)
  if (tokens[0]?.key !== 'rule' || tokens[0].value !== undefined) return `'${text}' is not a rule`
  const rule: RichRule = { text: text.trim(), where, priority: 0, element: { kind: 'none' } }
  let i = 1
  const attrs = (names: string[]): Record<string, string> => {
    const out: Record<string, string> = {}
    for (; i < tokens.length && names.includes(tokens[i].key); i++) {
      const bareNot = tokens[i].key === 'not' && tokens[i].value === undefined
      if (tokens[i].value === undefined && !bareNot) break
      out[tokens[i].key] = bareNot ? 'true' : (tokens[i].value as string)
    }
    return out
  }
  let last = ''
  while (i < tokens.length) {
    const t = tokens[i++]
    if (t.value !== undefined) {
      if (t.key === 'family') {
        if (t.value !== 'ipv4' && t.value !== 'ipv6')
          return `family '${t.value}' is not ipv4 or ipv6`
        rule.family = t.value
      } else if (t.key === 'priority') {
        const n = Number(t.value)
        if (!Number.isInteger(n) || n < -32768 || n > 32767)
          return `priority '${t.value}' is not -32768..32767`
        rule.priority = n
      } else return `'${t.key}=${t.value}' is not understood here`
      continue
    }
    if (t.key === 'limit') {
      attrs(['value', 'burst'])
      if (last === 'action') rule.limited = true
      continue
    }
    const err = readPart(t.key, attrs, rule)
    if (err) return err
    last = ['log', 'nflog', 'audit'].includes(t.key) ? 'log' : rule.action ? 'action' : t.key
  }
  const el = rule.element.kind
  const special = ['masquerade', 'forward-port', 'icmp-block', 'tcp-mss-clamp'].includes(el)
  if (!special && !rule.action && !rule.log && !rule.audit) return 'rule has no action'
  return rule
}

function readPart(
  key: string,
  attrs: (names: string[]) => Record<string, string>,
  rule: RichRule
): string | undefined {
  if (key === 'source' || key === 'destination') {
    const a = attrs(['not', 'address', 'mac', 'ipset', 'invert'])
    if (rule[key]) return `${key} given twice`
    const invert = a.not === 'true' || /^(true|yes)$/i.test(a.invert ?? '')
    const addr = addrOf(a)
    if (typeof addr === 'string') return `${key}: ${addr}`
    rule[key] = { addr, invert }
    return undefined
  }
  if (key === 'not') return "'not' must follow source or destination"
  if (ELEMENT_KEYS[key]) {
    if (rule.element.kind !== 'none') return `a rule takes one element; '${key}' is a second`
    const el = elementOf(key, attrs(ELEMENT_KEYS[key]))
    if (typeof el === 'string') return el
    rule.element = el
    return undefined
  }
  if (key === 'log' || key === 'nflog') {
    const a = attrs(['prefix', 'level', 'group', 'queue-size'])
    rule.log = { prefix: a.prefix, level: a.level, nflog: key === 'nflog' || undefined }
    return undefined
  }
  if (key === 'audit') {
    rule.audit = true
    return undefined
  }
  const action = actionOf(key, attrs)
  if (typeof action === 'string') return action
  if (rule.action) return `a rule takes one action; '${key}' is a second`
  rule.action = action
  return undefined
}

function actionOf(
  key: string,
  attrs: (names: string[]) => Record<string, string>
): RichAction | string {
  if (key === 'accept' || key === 'drop') return { kind: key }
  if (key === 'reject') return { kind: 'reject', type: attrs(['type']).type }
  if (key === 'mark') {
    const set = attrs(['set']).set
    return set === undefined ? 'mark needs set=' : { kind: 'mark', set }
  }
  return `'${key}' is not understood`
}

function addrOf(a: Record<string, string>): AddressSpec | string {
  if (a.address !== undefined) return parseAddressSpec(a.address) ?? `address '${a.address}'`
  if (a.mac !== undefined) return { kind: 'mac', text: a.mac }
  if (a.ipset !== undefined) return { kind: 'ipset', name: a.ipset }
  return 'needs address=, mac= or ipset='
}

function elementOf(key: string, a: Record<string, string>): RichElement | string {
  const port = (): PortProto | string =>
    parsePortProto(`${a.port ?? ''}/${a.protocol ?? ''}`) ?? `${key}: bad port or protocol`
  switch (key) {
    case 'service':
    case 'icmp-block':
    case 'icmp-type':
      return a.name ? { kind: key, name: a.name } : `${key} needs name=`
    case 'protocol':
      return a.value ? { kind: 'protocol', value: a.value } : 'protocol needs value='
    case 'masquerade':
      return { kind: 'masquerade' }
    case 'tcp-mss-clamp':
      return { kind: 'tcp-mss-clamp', value: a.value }
    case 'port':
    case 'source-port': {
      const p = port()
      return typeof p === 'string' ? p : { kind: key, port: p }
    }
    default: {
      const p = port()
      if (typeof p === 'string') return p
      return { kind: 'forward-port', port: p, toPort: a['to-port'], toAddr: a['to-addr'] }
    }
  }
}

function tokenize(text: string): Token[] {
  const out: Token[] = []
  const re = /([^\s=]+)=("([^"]*)"|'([^']*)'|(\S*))|(\S+)/g
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[6] !== undefined) out.push({ key: m[6] })
    else out.push({ key: m[1], value: m[3] ?? m[4] ?? m[5] ?? '' })
  }
  return out
}
