import { problem, type Problem } from '../../shared/problem'
import type { Action, AddrType, Chain, CtState, Hook, Match, Rule, Ruleset, Table } from './model'
import { ADDR_TYPES, PRIORITY } from './model'
import { parseCidr, parseMac } from './parse-address'
import { ICMP_NAMES, ICMPV6_NAMES, protocolNumber } from './protocols'
import { tokenizeIptables } from './tokenize-iptables'

const BUILTIN: Record<string, string[]> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT']
}

const TABLE_PRIORITY: Record<string, number> = {
  raw: PRIORITY.raw,
  mangle: PRIORITY.mangle,
  filter: PRIORITY.filter,
  security: PRIORITY.security
}

const SOURCE_PORT_OPTIONS = new Set(['--sport', '--source-port', '--sports', '--source-ports'])

/** Matches whose result depends on state a snapshot does not hold. */
const STATEFUL = new Set([
  'limit',
  'hashlimit',
  'recent',
  'connlimit',
  'quota',
  'statistic',
  'time'
])

/**
 * Returns the model of `iptables-save` / `ip6tables-save` output (legacy or
 * nft variant). Unknown matches and targets are kept and make their rules
 * uncertain; a line that cannot be read is a problem with its line number.
 */
export function readIptablesSave(source: string, text: string): Ruleset {
  const problems: Problem[] = []
  const tables: Table[] = []
  let table: Table | undefined
  let v6 = false
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]
    const lineNo = i + 1
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) {
      if (/ip6tables-save/.test(line)) v6 = true
      continue
    }
    if (line.startsWith('*')) {
      table = { family: 'ip', name: line.slice(1).trim(), chains: [] }
      tables.push(table)
      continue
    }
    if (line === 'COMMIT') {
      table = undefined
      continue
    }
    if (!table) {
      problems.push(
        problem(source, `line ${lineNo}`, 'text outside a *table ... COMMIT block', raw)
      )
      continue
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?/.exec(line)
      if (!m) {
        problems.push(problem(source, `line ${lineNo}`, 'chain line not understood', raw))
        continue
      }
      const [, name, policy, packets, bytes] = m
      const chain: Chain = { name, rules: [] }
      if (policy !== '-') {
        const hook = name.toLowerCase() as Hook
        const priority =
          table.name === 'nat'
            ? name === 'PREROUTING' || name === 'OUTPUT'
              ? PRIORITY.dstnat
              : PRIORITY.srcnat
            : (TABLE_PRIORITY[table.name] ?? 0)
        const verdict = policy.toUpperCase() === 'DROP' ? 'drop' : 'accept'
        chain.base = {
          type:
            table.name === 'nat'
              ? 'nat'
              : table.name === 'mangle' && name === 'OUTPUT'
                ? 'route'
                : 'filter',
          hook,
          priority,
          policy: verdict
        }
        chain.policySource = { line: lineNo, text: raw }
        if (!BUILTIN[table.name]?.includes(name))
          problems.push(
            problem(
              source,
              `line ${lineNo}`,
              `chain ${name} has a policy but is not a built-in chain of ${table.name}`,
              raw
            )
          )
      }
      if (packets !== undefined) chain.counters = { packets: Number(packets), bytes: Number(bytes) }
      table.chains.push(chain)
      continue
    }
    const parsed = parseRule(line, lineNo, raw, v6, (message) =>
      problems.push(
        problem(source, `line ${lineNo}, column ${columnOf(message, raw)}`, message, raw)
      )
    )
    if (typeof parsed === 'string') {
      problems.push(problem(source, `line ${lineNo}, column ${columnOf(parsed, raw)}`, parsed, raw))
      continue
    }
    let chain = table.chains.find((c) => c.name === parsed.chain)
    if (!chain) {
      problems.push(
        problem(
          source,
          `line ${lineNo}`,
          `rule appended to chain ${parsed.chain}, which was not declared`,
          raw
        )
      )
      chain = { name: parsed.chain, rules: [] }
      table.chains.push(chain)
    }
    chain.rules.push(parsed.rule)
  }
  if (table)
    problems.push(problem(source, `line ${lines.length}`, `table ${table.name} has no COMMIT`))
  // ip6tables-save without its header comment still gives itself away by its file's name
  // (ip6tables.rules, ip6tables-save.txt), IPv6 addresses or ICMPv6.
  v6 ||= /ip6tables[^/\\]*$/i.test(source)
  v6 ||= tables.some((t) =>
    t.chains.some((c) =>
      c.rules.some((r) =>
        r.matches.some(
          (m) =>
            ((m.kind === 'saddr' || m.kind === 'daddr') && m.cidrs.some((x) => x.version === 6)) ||
            (m.kind === 'proto' && m.protos.includes(58))
        )
      )
    )
  )
  for (const t of tables) if (v6) t.family = 'ip6'
  // REJECT's default answer differs by family: icmp-port-unreachable, icmp6-port-unreachable.
  for (const t of tables)
    for (const c of t.chains)
      for (const r of c.rules)
        if (r.action.kind === 'reject' && r.action.with === 'default')
          r.action = {
            kind: 'reject',
            with: v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'
          }
  return { system: v6 ? 'ip6tables' : 'iptables', source, tables, problems }
}

/** Parses one `-A CHAIN ...` line (optionally prefixed by `[packets:bytes]`). */
function parseRule(
  line: string,
  lineNo: number,
  raw: string,
  v6: boolean,
  warn: (message: string) => void
): { chain: string; rule: Rule } | string {
  const args = tokenizeIptables(line)
  let counters: Rule['counters']
  if (/^\[\d+:\d+\]$/.test(args[0] ?? '')) {
    const [p, b] = args.shift()!.slice(1, -1).split(':')
    counters = { packets: Number(p), bytes: Number(b) }
  }
  if (args[0] !== '-A' && args[0] !== '--append') return `expected -A CHAIN, found '${args[0]}'`
  const chain = args[1]
  if (!chain) return '-A without a chain name'
  const matches: Match[] = []
  let action: Action | undefined
  let comment: string | undefined
  let proto: number | undefined
  let module = ''
  /** Where the current -m module's matches begin, and its --limit-iface-in/out if seen. */
  let moduleStart = 0
  let limitIface: 'in' | 'out' | undefined
  let i = 2
  const unmodelled: string[] = []
  const take = (): string | undefined => args[i++]
  while (i < args.length) {
    let negate = false
    let opt = take()!
    if (opt === '!') {
      negate = true
      opt = take() ?? ''
    }
    // iptables-save also writes "--dport ! 22" in old versions: the ! after the option.
    const value = (): string => {
      let v = take() ?? ''
      if (v === '!') {
        negate = true
        v = take() ?? ''
      }
      return v
    }
    switch (opt) {
      case '-s':
      case '--source':
      case '-d':
      case '--destination': {
        const list = value().split(',')
        const cidrs = list.map(parseCidr)
        if (cidrs.some((c) => c === undefined)) return `address '${list.join(',')}' not understood`
        matches.push({
          kind: opt === '-s' || opt === '--source' ? 'saddr' : 'daddr',
          cidrs: cidrs as NonNullable<(typeof cidrs)[number]>[],
          negate
        })
        break
      }
      case '-i':
      case '--in-interface':
      case '-o':
      case '--out-interface':
        matches.push({
          kind: opt.startsWith('-i') || opt === '--in-interface' ? 'iif' : 'oif',
          names: [value()],
          negate
        })
        break
      case '-p':
      case '--protocol': {
        const name = value()
        if (name === 'all' || name === '0') break
        const n = protocolNumber(name)
        if (n === undefined) return `protocol '${name}' not understood`
        proto = n
        matches.push({ kind: 'proto', protos: [n], negate })
        break
      }
      case '-m':
      case '--match':
        module = value()
        moduleStart = matches.length
        limitIface = undefined
        break
      case '--sport':
      case '--source-port':
      case '--dport':
      case '--destination-port':
      case '--sports':
      case '--source-ports':
      case '--dports':
      case '--destination-ports':
      case '--ports': {
        const ranges = parsePorts(value())
        if (!ranges) return `port list '${args[i - 1]}' not understood`
        const kind = SOURCE_PORT_OPTIONS.has(opt) ? 'sport' : 'dport'
        if (opt === '--ports') unmodelled.push('--ports')
        matches.push({ kind, ranges, negate })
        break
      }
      case '--syn':
        // --syn: SYN set, RST, ACK and FIN clear.
        matches.push({ kind: 'tcp-flags', mask: 0x17, set: 0x02, negate })
        break
      case '--tcp-flags': {
        const mask = flagBits(value())
        const set = flagBits(take() ?? '')
        if (mask === undefined || set === undefined) return 'TCP flags not understood'
        matches.push({ kind: 'tcp-flags', mask, set, negate })
        break
      }
      case '--icmp-type':
      case '--icmpv6-type': {
        const typeText = value()
        if (typeText === 'any') break
        const t = parseIcmpType(typeText, opt === '--icmpv6-type' || proto === 58 || v6)
        if (!t) return `ICMP type '${args[i - 1]}' not understood`
        matches.push({
          kind: 'icmp-type',
          v6: opt === '--icmpv6-type' || proto === 58,
          type: t[0],
          code: t[1],
          negate
        })
        break
      }
      case '--state':
      case '--ctstate': {
        const states = value()
          .split(',')
          .map((s) => s.toLowerCase())
        const known: CtState[] = ['new', 'established', 'related', 'invalid', 'untracked']
        const bad = states.filter(
          (s) => !known.includes(s as CtState) && s !== 'snat' && s !== 'dnat'
        )
        if (bad.length) return `conntrack state '${bad.join(',')}' not understood`
        const modelled = states.filter((s): s is CtState => known.includes(s as CtState))
        const nat = states.filter((s): s is 'dnat' | 'snat' => s === 'dnat' || s === 'snat')
        matches.push(
          nat.length > 0
            ? { kind: 'ct-state', states: modelled, nat, negate }
            : { kind: 'ct-state', states: modelled, negate }
        )
        break
      }
      case '--src-range':
      case '--dst-range': {
        const [a, b] = value().split('-')
        const from = parseCidr(a)
        const to = parseCidr(b ?? a)
        if (!from || !to) return `address range '${args[i - 1]}' not understood`
        matches.push({
          kind: opt === '--src-range' ? 'saddr-range' : 'daddr-range',
          from,
          to,
          negate
        })
        break
      }
      case '--comment':
        comment = value()
        break
      case '--match-set': {
        const name = value()
        const dirs = (take() ?? '').split(',')
        if (dirs.some((d) => d !== 'src' && d !== 'dst'))
          return `--match-set ${name}: directions '${dirs.join(',')}' not understood`
        matches.push({ kind: 'ipset', name, dirs: dirs as ('src' | 'dst')[], negate })
        break
      }
      case '--length':
      case '--ttl-eq':
      case '--ttl-lt':
      case '--ttl-gt':
      case '--hl-eq':
      case '--hl-lt':
      case '--hl-gt': {
        const text = value()
        const ranges = opt === '--length' ? parseRange(text, 65535, ':') : ttlRange(opt, text)
        if (!ranges) {
          warn(`${opt} '${text}' not understood`)
          matches.push(unknownOption(module, negate, opt, text))
        } else matches.push({ kind: opt === '--length' ? 'length' : 'ttl', ranges, negate })
        break
      }
      case '--mark': {
        const text = value()
        const mm = markMask(text)
        if (!mm || (module !== 'mark' && module !== 'connmark')) {
          if (!mm) warn(`mark '${text}' not understood (VALUE[/MASK])`)
          matches.push(unknownOption(module, negate, opt, text))
        } else
          matches.push({
            kind: module === 'mark' ? 'mark' : 'ct-mark',
            values: [mm[0]],
            mask: mm[1],
            negate
          })
        break
      }
      case '--uid-owner':
      case '--gid-owner': {
        const text = value()
        const ranges = parseRange(text, 0xfffffffe, '-')
        // A user or group by name: its number is in a passwd file Verdict does not have.
        if (!ranges) matches.push(unknownOption(module, negate, opt, text))
        else
          matches.push({
            kind: opt === '--uid-owner' ? 'uid' : 'gid',
            ranges,
            negate,
            withoutSocket: 'negated'
          })
        break
      }
      case '--src-type':
      case '--dst-type': {
        const text = value()
        const types = text.split(',').map((t) => t.toLowerCase())
        const bad = text.split(',').filter((t) => !ADDR_TYPES.includes(t.toLowerCase() as AddrType))
        if (bad.length) {
          warn(`address type '${bad.join(',')}' not understood`)
          matches.push(unknownOption(module, negate, opt, text))
        } else {
          const m: Match = {
            kind: 'addrtype',
            dir: opt === '--src-type' ? 'src' : 'dst',
            types: types as AddrType[],
            negate,
            dialect: 'xt'
          }
          if (limitIface) m.iface = limitIface
          matches.push(m)
        }
        break
      }
      case '--limit-iface-in':
      case '--limit-iface-out':
        limitIface = opt === '--limit-iface-in' ? 'in' : 'out'
        for (const m of matches.slice(moduleStart)) if (m.kind === 'addrtype') m.iface = limitIface
        break
      case '--physdev-in':
      case '--physdev-out':
      case '--physdev-is-in':
      case '--physdev-is-out':
      case '--physdev-is-bridged': {
        const name = opt === '--physdev-in' || opt === '--physdev-out' ? value() : undefined
        if (name === '') {
          warn(`${opt} needs a bridge port name`)
          matches.push(unknownOption(module, negate, opt, name))
          break
        }
        // One -m physdev holds all its options, each with its own `!`.
        let m = matches.slice(moduleStart).find((x) => x.kind === 'physdev')
        if (!m || m.kind !== 'physdev') matches.push((m = { kind: 'physdev', negate: false }))
        if (opt === '--physdev-in') m.physIn = { name: name!, negate }
        else if (opt === '--physdev-out') m.physOut = { name: name!, negate }
        else if (opt === '--physdev-is-in') m.isIn = { negate }
        else if (opt === '--physdev-is-out') m.isOut = { negate }
        else m.isBridged = { negate }
        break
      }
      case '--mac-source':
      case '--mac': {
        const text = value()
        const mac = parseMac(text)
        if (!mac) {
          // iptables-save never writes anything else; a redacted copy (XX:XX:...) is kept undecided.
          if (!/^[0-9a-z]{2}(:[0-9a-z]{2}){5}$/i.test(text))
            warn(`MAC address '${text}' not understood`)
          matches.push(unknownOption(module, negate, opt, text))
        } else matches.push({ kind: 'mac-source', macs: [mac], negate })
        break
      }
      case '-j':
      case '--jump':
      case '-g':
      case '--goto': {
        const target = value()
        const rest: string[] = []
        while (i < args.length) rest.push(take()!)
        const a = parseTarget(target, rest, opt === '-g' || opt === '--goto')
        if (typeof a === 'string') return a
        action = a
        break
      }
      default: {
        // An option of a match module Verdict does not model: keep its text, mark the rule uncertain.
        const words = [opt]
        while (i < args.length && !args[i].startsWith('-') && args[i] !== '!') words.push(take()!)
        const text = `${negate ? '! ' : ''}${words.join(' ')}`
        // A stateful module's options make one condition (`--hashlimit-above 1/sec
        // --hashlimit-burst 2 ...`): the limit and its parameters hold or fail together.
        const last = matches.at(-1)
        if (STATEFUL.has(module) && last?.kind === 'stateful' && last.name === module)
          last.text += ` ${text}`
        else if (STATEFUL.has(module)) matches.push({ kind: 'stateful', name: module, text })
        else matches.push({ kind: 'unmodelled', name: module || opt, text })
      }
    }
  }
  for (const u of unmodelled) matches.push({ kind: 'unmodelled', name: 'match', text: u })
  const rule: Rule = {
    source: { line: lineNo, text: raw },
    text: raw.trim(),
    matches,
    action: action ?? { kind: 'continue' }
  }
  if (comment !== undefined) rule.comment = comment
  if (counters) rule.counters = counters
  return { chain, rule }
}

/** An option whose value Verdict cannot use: kept as written, the rule's outcome uncertain. */
function unknownOption(module: string, negate: boolean, opt: string, value: string): Match {
  return { kind: 'unmodelled', name: module || opt, text: `${negate ? '! ' : ''}${opt} ${value}` }
}

/** `N` or `N<sep>M` (either end may be left out) within 0..max. */
function parseRange(text: string, max: number, sep: string): [number, number][] | undefined {
  const parts = text.split(sep)
  if (parts.length > 2) return undefined
  const num = (s: string, dflt: number): number =>
    s === '' && parts.length === 2 ? dflt : /^\d+$/.test(s) ? Number(s) : NaN
  const lo = num(parts[0], 0)
  const hi = parts.length === 2 ? num(parts[1], max) : lo
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi > max || lo > hi)
    return undefined
  return [[lo, hi]]
}

/** `--ttl-eq 64`, `--ttl-lt 10`, `--hl-gt 5` as a range of TTLs. */
function ttlRange(opt: string, text: string): [number, number][] | undefined {
  if (!/^\d+$/.test(text) || Number(text) > 255) return undefined
  const n = Number(text)
  if (opt.endsWith('-eq')) return [[n, n]]
  if (opt.endsWith('-lt')) return [[0, n - 1]]
  return [[n + 1, 255]]
}

/** `0x1`, `0x1/0xff`, `5`: a mark value and mask (default all 32 bits). */
function markMask(text: string): [number, number] | undefined {
  const [v, m, extra] = text.split('/')
  const num = (s: string | undefined): number | undefined =>
    s !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(s) && Number(s) <= 0xffffffff
      ? Number(s)
      : undefined
  const value = num(v)
  const mask = m === undefined ? 0xffffffff : num(m)
  if (value === undefined || mask === undefined || extra !== undefined) return undefined
  return [value, mask]
}

/** MARK and CONNMARK as iptables-save writes them; anything else leaves the mark unknown. */
function markTarget(target: 'MARK' | 'CONNMARK', rest: string[]): Action {
  const text = [target, ...rest].join(' ')
  const field = target === 'MARK' ? 'mark' : 'ct-mark'
  const unknown: Action = { kind: 'set-mark', field, text }
  const opt = (name: string): string | undefined => {
    const k = rest.indexOf(name)
    return k >= 0 ? rest[k + 1] : undefined
  }
  const num = (s: string | undefined, dflt?: number): number | undefined =>
    s === undefined ? dflt : markMask(s)?.[0]
  if (rest.some((r) => /shift/.test(r))) return unknown
  const xmark = opt('--set-xmark')
  if (xmark !== undefined) {
    const mm = markMask(xmark)
    return mm ? { kind: 'set-mark', field, clear: mm[1], xor: mm[0], text } : unknown
  }
  const set = opt('--set-mark')
  if (set !== undefined) {
    const mm = markMask(set)
    return mm
      ? { kind: 'set-mark', field, clear: (mm[1] | mm[0]) >>> 0, xor: mm[0], text }
      : unknown
  }
  for (const [name, of] of [
    ['--and-mark', (v: number) => [~v >>> 0, 0]],
    ['--or-mark', (v: number) => [v, v]],
    ['--xor-mark', (v: number) => [0, v]]
  ] as const) {
    const v = num(opt(name))
    if (v !== undefined) {
      const [clear, xor] = of(v)
      return { kind: 'set-mark', field, clear, xor, text }
    }
  }
  if (target === 'CONNMARK' && (rest.includes('--save-mark') || rest.includes('--restore-mark'))) {
    const nfmask = num(opt('--nfmask') ?? opt('--mask'), 0xffffffff)
    const ctmask = num(opt('--ctmask') ?? opt('--mask'), 0xffffffff)
    if (nfmask === undefined || ctmask === undefined) return unknown
    // save: ctmark = (ctmark & ~ctmask) ^ (mark & nfmask); restore: the other way round.
    return rest.includes('--save-mark')
      ? {
          kind: 'set-mark',
          field: 'ct-mark',
          clear: ctmask,
          xor: 0,
          copy: { from: 'mark', mask: nfmask },
          text
        }
      : {
          kind: 'set-mark',
          field: 'mark',
          clear: nfmask,
          xor: 0,
          copy: { from: 'ct-mark', mask: ctmask },
          text
        }
  }
  return unknown
}

function parseTarget(target: string, rest: string[], isGoto: boolean): Action | string {
  const opt = (name: string): string | undefined => {
    const k = rest.indexOf(name)
    return k >= 0 ? rest[k + 1] : undefined
  }
  if (isGoto) return { kind: 'goto', chain: target }
  switch (target) {
    case 'ACCEPT':
      return { kind: 'accept' }
    case 'DROP':
      return { kind: 'drop' }
    case 'RETURN':
      return { kind: 'return' }
    case 'REJECT':
      // iptables' default: icmp-port-unreachable (ip6tables: icmp6-port-unreachable).
      return { kind: 'reject', with: opt('--reject-with') ?? 'default' }
    case 'LOG':
      return { kind: 'log', prefix: opt('--log-prefix'), level: opt('--log-level') }
    case 'NFLOG': {
      const group = opt('--nflog-group')
      return {
        kind: 'log',
        prefix: opt('--nflog-prefix'),
        group: group === undefined ? 0 : Number(group)
      }
    }
    case 'DNAT':
      return { kind: 'dnat', to: opt('--to-destination') }
    case 'SNAT':
      return { kind: 'snat', to: opt('--to-source') }
    case 'MASQUERADE':
      return { kind: 'masquerade', to: opt('--to-ports') }
    case 'REDIRECT':
      return { kind: 'redirect', to: opt('--to-ports') }
    case 'MARK':
    case 'CONNMARK':
      return markTarget(target, rest)
    case 'CT':
    case 'NOTRACK':
    case 'TRACE':
    case 'TCPMSS':
    case 'TOS':
    case 'DSCP':
    case 'TTL':
    case 'HL':
    case 'CLASSIFY':
    case 'ULOG':
    case 'SET':
    case 'CHECKSUM':
    case 'AUDIT':
      return { kind: 'other', name: target, text: [target, ...rest].join(' '), terminal: false }
  }
  // Anything in upper case that is not a chain we know is an extension target: a user chain
  // is resolved (and reported if missing) by the evaluator.
  return { kind: 'jump', chain: target }
}

/** The column of the text a message quotes ('…'), or of the line's first character. */
function columnOf(message: string, raw: string): number {
  const quoted = /'([^']+)'/.exec(message)
  const at = quoted ? raw.indexOf(quoted[1]) : -1
  return at >= 0 ? at + 1 : raw.length - raw.trimStart().length + 1
}

function parsePorts(text: string): [number, number][] | undefined {
  const out: [number, number][] = []
  for (const part of text.split(',')) {
    const [a, b] = part.split(':')
    const lo = a === '' ? 0 : Number(a)
    const hi = b === undefined ? lo : b === '' ? 65535 : Number(b)
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535) return undefined
    out.push([lo, hi])
  }
  return out
}

const FLAG: Record<string, number> = {
  FIN: 1,
  SYN: 2,
  RST: 4,
  PSH: 8,
  ACK: 16,
  URG: 32,
  ECE: 64,
  CWR: 128,
  ALL: 0xff,
  NONE: 0
}

function flagBits(text: string): number | undefined {
  let n = 0
  for (const f of text.split(',')) {
    const v = FLAG[f.toUpperCase()]
    if (v === undefined) return undefined
    n |= v
  }
  return n
}

function parseIcmpType(text: string, v6: boolean): [number, number?] | undefined {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text)
  if (m) return m[2] === undefined ? [Number(m[1])] : [Number(m[1]), Number(m[2])]
  return (v6 ? ICMPV6_NAMES : ICMP_NAMES)[text]
}
