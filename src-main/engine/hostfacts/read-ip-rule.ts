import { problem, type Problem } from '../../shared/problem'
import { addressFamily, asRecord, normalizeAddress, num, parseJson, str } from './address'

/**
 * One routing policy rule (`ip rule`): a selector and what a packet it selects gets, tried in
 * priority order by the kernel's fib_rules_lookup until a table gives a route.
 */
export interface IpRule {
  priority: number
  /** `not`: the selector is inverted. */
  not: boolean
  /** Source and destination prefixes; absent means all. */
  from?: { addr: string; bits: number }
  to?: { addr: string; bits: number }
  /** fwmark and its mask (the mask is all ones when not printed). */
  fwmark?: { value: number; mask: number }
  iif?: string
  oif?: string
  /** uidrange, ipproto, sport, dport, tos, l3mdev: selectors Verdict keeps but cannot test. */
  other: string[]
  /** lookup TABLE (the table's name or number), goto, or a route type that ends the packet. */
  action:
    | { kind: 'lookup'; table: string }
    | { kind: 'goto'; priority: number }
    | { kind: 'nop' }
    | { kind: 'unreachable' | 'prohibit' | 'blackhole' }
  /** suppress_prefixlength N: a route with a prefix this short or shorter is not taken. */
  suppressPrefixLength?: number
  /**
   * 4 or 6: by the rule's addresses, else by the others printed with it (`ip rule` and `ip -6
   * rule` output one after the other: the second list starts again at a lower priority).
   */
  family: 4 | 6
  line: number
  text: string
}

export interface IpRuleSnapshot {
  format: 'text' | 'json'
  rules: IpRule[]
  problems: Problem[]
}

/** A line of `ip rule` output: the priority, a colon, the selector. */
export const IP_RULE_LINE = /^\s*(\d+):\s+(not\s+)?(from|to|fwmark|iif|oif|tos|all|lookup)\b/

/** Selectors printed with one value that no lookup Verdict makes can test. */
const OTHER_WITH_VALUE = new Set([
  'tos',
  'dsfield',
  'uidrange',
  'ipproto',
  'sport',
  'dport',
  'realms',
  'proto',
  'protocol',
  'suppress_ifgroup',
  'tun_id'
])

/** Route types a rule can end a packet with. */
const ENDINGS = new Set(['unreachable', 'prohibit', 'blackhole'])

/**
 * Returns the rules of `ip rule` / `ip -6 rule` text or `ip -j rule` JSON. Lines that are not
 * rules are left to other readers (a file may hold `ip rule` and `ip route` output together);
 * a rule line that cannot be read is a problem naming its line.
 */
export function readIpRule(source: string, text: string): IpRuleSnapshot {
  if (/^\s*\[/.test(text)) return readJson(source, text)
  const rules: IpRule[] = []
  const problems: Problem[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    if (!IP_RULE_LINE.test(raw)) continue
    const r = parseRule(raw, i + 1)
    if (typeof r === 'string') problems.push(problem(source, `line ${i + 1}`, r, raw))
    else rules.push(r)
  }
  return { format: 'text', rules: byPriority(withFamilies(rules)), problems }
}

/**
 * Sets each rule's family: a list in file order starts again (a lower priority than the rule
 * before) where `ip -6 rule` output follows `ip rule` output. A list's family is its addresses',
 * else IPv4 for the first and IPv6 for the next.
 */
function withFamilies(rules: IpRule[]): IpRule[] {
  let start = 0
  let list = 0
  for (let i = 1; i <= rules.length; i++) {
    if (i < rules.length && rules[i].priority >= rules[i - 1].priority) continue
    const block = rules.slice(start, i)
    const addr = block.map((r) => r.from?.addr ?? r.to?.addr).find((x) => x !== undefined)
    const fam = (addr && addressFamily(addr)) || (list === 0 ? 4 : 6)
    for (const r of block) r.family = fam
    start = i
    list++
  }
  return rules
}

function parseRule(raw: string, line: number): IpRule | string {
  const m = /^\s*(\d+):\s+(.*)$/.exec(raw)
  if (!m) return 'not a rule'
  const words = m[2].trim().split(/\s+/)
  const rule: IpRule = {
    priority: Number(m[1]),
    not: false,
    other: [],
    action: { kind: 'lookup', table: 'main' },
    family: 4,
    line,
    text: raw.trim().replace(/\s+/g, ' ')
  }
  let acted = false
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    const next = words[i + 1]
    if (w === 'not') rule.not = true
    else if ((w === 'from' || w === 'to') && next !== undefined) {
      i++
      if (next === 'all') continue
      const p = prefix(next)
      if (!p) return `not an address: ${next}`
      rule[w] = p
    } else if (w === 'fwmark' && next !== undefined) {
      i++
      const [v, mask] = next.split('/')
      const value = Number(v)
      const maskValue = mask === undefined ? 0xffffffff : Number(mask)
      if (!Number.isInteger(value) || !Number.isInteger(maskValue)) return `not a mark: ${next}`
      rule.fwmark = { value: value >>> 0, mask: maskValue >>> 0 }
    } else if ((w === 'iif' || w === 'oif') && next !== undefined) {
      rule[w] = next
      i++
      if (words[i + 1] === '[detached]') i++
    } else if ((w === 'lookup' || w === 'table') && next !== undefined) {
      rule.action = { kind: 'lookup', table: next }
      acted = true
      i++
    } else if (w === 'goto' && next !== undefined) {
      if (!/^\d+$/.test(next)) return `goto is not a priority: ${next}`
      rule.action = { kind: 'goto', priority: Number(next) }
      acted = true
      i++
    } else if (w === 'nop') {
      rule.action = { kind: 'nop' }
      acted = true
    } else if (ENDINGS.has(w)) {
      rule.action = { kind: w as 'unreachable' | 'prohibit' | 'blackhole' }
      acted = true
    } else if (w === 'suppress_prefixlength' && next !== undefined) {
      rule.suppressPrefixLength = Number(next)
      i++
    } else if (OTHER_WITH_VALUE.has(w) && next !== undefined) {
      rule.other.push(`${w} ${next}`)
      i++
    } else if (w === 'l3mdev') rule.other.push(w)
    else if (w === 'all' || w === 'unresolved') continue
    else return `unexpected "${w}"`
  }
  if (!acted) return 'a rule without lookup, goto or a route type'
  return rule
}

/** `ADDR` or `ADDR/BITS`, normalised; undefined when not an address. */
function prefix(text: string): { addr: string; bits: number } | undefined {
  const [a, b] = text.split('/')
  const fam = addressFamily(a)
  if (fam === undefined) return undefined
  const bits = b === undefined ? (fam === 4 ? 32 : 128) : Number(b)
  if (!Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) return undefined
  return { addr: normalizeAddress(a), bits }
}

function byPriority(rules: IpRule[]): IpRule[] {
  return rules
    .map((r, i) => ({ r, i }))
    .sort((x, y) => x.r.priority - y.r.priority || x.i - y.i)
    .map((x) => x.r)
}

function readJson(source: string, text: string): IpRuleSnapshot {
  const rules: IpRule[] = []
  const problems: Problem[] = []
  const parsed = parseJson(text)
  if ('error' in parsed) {
    problems.push(problem(source, `line ${parsed.line}`, `not JSON: ${parsed.error}`))
    return { format: 'json', rules, problems }
  }
  if (!Array.isArray(parsed.value)) {
    problems.push(problem(source, 'line 1', 'ip -j rule output is an array'))
    return { format: 'json', rules, problems }
  }
  parsed.value.forEach((v, n) => {
    const o = asRecord(v)
    const priority = num(o?.priority)
    if (o === undefined || priority === undefined) {
      problems.push(problem(source, `item ${n + 1}`, 'a rule without a priority'))
      return
    }
    // The text form of the same rule, read by the text reader: one set of semantics.
    const words: string[] = [`${priority}:`]
    if (o.not === true || o.not === null) words.push('not')
    const addr = (key: 'src' | 'dst'): string => {
      const a = str(o[key]) ?? 'all'
      const bits = num(o[`${key}len`])
      return a !== 'all' && bits !== undefined ? `${a}/${bits}` : a
    }
    words.push('from', addr('src'))
    if (o.dst !== undefined) words.push('to', addr('dst'))
    const mark = str(o.fwmark) ?? (num(o.fwmark) !== undefined ? String(o.fwmark) : undefined)
    if (mark !== undefined) words.push('fwmark', o.fwmask ? `${mark}/${String(o.fwmask)}` : mark)
    if (str(o.iifname)) words.push('iif', str(o.iifname)!)
    if (str(o.oifname)) words.push('oif', str(o.oifname)!)
    const table = str(o.table) ?? (num(o.table) !== undefined ? String(o.table) : undefined)
    const action = str(o.action)
    if (num(o.goto) !== undefined) words.push('goto', String(o.goto))
    else if (action !== undefined && (ENDINGS.has(action) || action === 'nop')) words.push(action)
    else words.push('lookup', table ?? 'main')
    if (num(o.suppress_prefixlen) !== undefined)
      words.push('suppress_prefixlength', String(o.suppress_prefixlen))
    const r = parseRule(words.join(' '), n + 1)
    if (typeof r === 'string') problems.push(problem(source, `item ${n + 1}`, r))
    else rules.push(r)
  })
  return { format: 'json', rules: byPriority(withFamilies(rules)), problems }
}
