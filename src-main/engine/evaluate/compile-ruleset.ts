/**
 * The evaluator's fast path: a Ruleset compiled once (cached per Ruleset) into arrays of match
 * closures per chain, address lists into sorted interval arrays searched by halves, port lists
 * into interval checks, jumps into direct references, and large chains into a candidate index
 * (one bit set per elementary interval of source, destination, destination port and protocol),
 * so a packet meets only the rules that can match it.
 *
 * `decide` gives what walkNetfilter gives (verdict, the rule or policy that decided, whether it
 * is uncertain, the DNAT target) without the trace: for packets by the million. The traced walk
 * stays the explanation; the two must agree on everything `decide` returns.
 */
import type {
  Action,
  Chain,
  Cidr,
  CtState,
  Hook,
  Match,
  Rule,
  Ruleset,
  SetMark,
  Table
} from '../rulesets/model'
import { compareAddress, inCidr } from '../rulesets/parse-address'
import {
  interfaceMatches,
  isLoopback,
  matchOne,
  PROTO_NUMBER,
  type MatchContext
} from './match-rule'
import type { PacketSpec } from './packet-spec'
import {
  chainTestSource,
  ruleTestSource,
  type Fallback,
  type FastPacket
} from './compile-rule-source'
import {
  baseChains,
  decisive,
  dnatDestination,
  HOOKS,
  isMainChain,
  MAX_DEPTH,
  setMark,
  type DecidedBy,
  type PathKind,
  type WalkOptions,
  type WalkResult
} from './walk-netfilter'

/** What `decide` returns: the walk's result without its trace and reasons. */
export type Decision = Pick<
  WalkResult,
  'verdict' | 'rejectWith' | 'decidedBy' | 'ct' | 'dnatTo'
> & {
  uncertain: boolean
}

const NO = 0
const YES = 1
const UNKNOWN = 2
type Test = (p: PacketSpec, ctx: MatchContext) => number
type RuleTest = (s: FastPacket, F: Fallback[]) => number
type ChainTest = (s: FastPacket, F: Fallback[], from: number) => number

/** Chains walked in full with at most this many rules are tested by one function. */
const CHAIN_FUNCTION_MAX_RULES = 256
const NOT_COMPILED: RuleTest = () => {
  throw new Error('rule test not compiled')
}

/** Chains with at least this many rules get a candidate index. */
const INDEX_MIN_RULES = 48
/** The most 32-bit words one index dimension may hold (16 MB). */
const INDEX_MAX_WORDS = 1 << 22
/** Chains with more rules than this are walked in full (the index's rows are this wide). */
const INDEX_MAX_RULES = 32 << 16

interface CompiledRule {
  test: RuleTest
  /** The closures the test calls for the conditions it does not write out. */
  fallbacks: Fallback[]
  by: DecidedBy
  decisive: boolean
  /** Marks set before the verdict, and every mark the rule may set (cleared when it may have). */
  marks?: SetMark[]
  sets?: SetMark[]
  action: Action
  /** jump/goto: the target chain, null when the table has none of that name. */
  target?: CompiledChain | null
  dnat?: { addr?: Cidr; port?: number }
}

interface CompiledChain {
  table: Table
  chain: Chain
  rules: CompiledRule[]
  index?: ChainIndex
  /** A chain walked in full: its rules' tests as one function, and the closures it calls. */
  run?: ChainTest
  fallbacks: Fallback[]
  policyBy?: DecidedBy
}

interface Compiled {
  /** By path, then IP version (index 0: IPv4, 1: IPv6): each hook's base chains, lowest priority first. */
  paths: Record<PathKind, { forward: boolean; chains: CompiledChain[] }[][]>
}

const cache = new WeakMap<Ruleset, Compiled>()

/** Returns the compiled form of a ruleset (compiled on first use, then cached). */
function compiled(ruleset: Ruleset): Compiled {
  let c = cache.get(ruleset)
  if (!c) {
    c = compile(ruleset)
    cache.set(ruleset, c)
  }
  return c
}

function compile(ruleset: Ruleset): Compiled {
  testCache = new Map()
  try {
    return compileAll(ruleset)
  } finally {
    testCache = new Map()
  }
}

function compileAll(ruleset: Ruleset): Compiled {
  const chains = new Map<Chain, CompiledChain>()
  const byTable = new Map<Table, Map<string, Chain>>()
  for (const table of ruleset.tables) {
    const names = new Map<string, Chain>()
    // The traced walk takes the first chain of a name.
    for (const chain of table.chains) if (!names.has(chain.name)) names.set(chain.name, chain)
    byTable.set(table, names)
    for (const chain of table.chains) chains.set(chain, { table, chain, rules: [], fallbacks: [] })
  }
  for (const cc of chains.values()) {
    const { table, chain } = cc
    cc.rules = chain.rules.map((rule) => compileRule(table, chain, rule))
    chain.rules.forEach((rule, i) => {
      const a = rule.action
      if (a.kind === 'jump' || a.kind === 'goto') {
        const target = byTable.get(table)!.get(a.chain)
        cc.rules[i].target = target ? chains.get(target)! : null
      }
    })
    if (chain.base)
      cc.policyBy = Object.freeze({
        kind: 'policy',
        table: table.name,
        chain: chain.name,
        line: chain.policySource?.line,
        rule: chain.policySource?.text.trim()
      })
    if (chain.rules.length >= INDEX_MIN_RULES && chain.rules.length <= INDEX_MAX_RULES)
      cc.index = buildIndex(chain.rules)
    if (!cc.index && chain.rules.length <= CHAIN_FUNCTION_MAX_RULES) {
      const body = chainTestSource(
        chain.rules.map((r) => sortedMatches(r.matches)),
        fallback,
        v4Ranges,
        cc.fallbacks
      )
      cc.run = new Function('s', 'F', 'from', body) as ChainTest
    } else
      for (const [i, r] of cc.rules.entries()) {
        const t = ruleTest(chain.rules[i].matches)
        r.test = t.test
        r.fallbacks = t.fallbacks
      }
  }
  const hookChains = (hook: Hook, version: 4 | 6) => ({
    forward: hook === 'forward',
    chains: baseChains(ruleset, hook, version).map(({ chain }) => chains.get(chain)!)
  })
  const path = (kind: PathKind) => [
    HOOKS[kind].map((h) => hookChains(h, 4)),
    HOOKS[kind].map((h) => hookChains(h, 6))
  ]
  return { paths: { input: path('input'), forward: path('forward'), output: path('output') } }
}

function compileRule(table: Table, chain: Chain, rule: Rule): CompiledRule {
  const a = rule.action
  const sets = [...(rule.marks ?? []), ...(a.kind === 'set-mark' ? [a] : [])]
  const out: CompiledRule = {
    test: NOT_COMPILED,
    fallbacks: [],
    by: Object.freeze({
      kind: 'rule',
      table: table.name,
      chain: chain.name,
      line: rule.source.line,
      rule: rule.text
    }),
    decisive: decisive(a),
    action: a
  }
  if (rule.marks?.length) out.marks = rule.marks
  if (sets.length) out.sets = sets
  if (a.kind === 'dnat' && a.to) out.dnat = dnatDestination(a.to)
  return out
}

// ---------------------------------------------------------------------------------------------
// Matches

/** The cheaper and more selective conditions first: the result does not depend on the order. */
const COST: Partial<Record<Match['kind'], number>> = {
  proto: 0,
  dport: 1,
  sport: 1,
  'ct-state': 2,
  iif: 3,
  oif: 3,
  'tcp-flags': 3,
  'icmp-type': 3,
  saddr: 4,
  daddr: 4
}

function sortedMatches(matches: Match[]): Match[] {
  return [...matches].sort((x, y) => (COST[x.kind] ?? 9) - (COST[y.kind] ?? 9))
}

/** Generated tests by source: rules with the same conditions share one function. */
let testCache = new Map<string, RuleTest>()

/** A rule's conditions as one generated function: NO when any fails, else UNKNOWN when any is undecidable. */
function ruleTest(matches: Match[]): { test: RuleTest; fallbacks: Fallback[] } {
  const sorted = sortedMatches(matches)
  const fallbacks: Fallback[] = []
  const body = ruleTestSource(sorted, fallback, v4Ranges, fallbacks)
  let test = testCache.get(body)
  if (!test) {
    test = new Function('s', 'F', body) as RuleTest
    testCache.set(body, test)
  }
  return { test, fallbacks }
}

/** An address condition's IPv4 prefixes as merged ranges. */
function v4Ranges(m: Match): [number, number][] | undefined {
  if (m.kind !== 'saddr' && m.kind !== 'daddr') return undefined
  return merge(m.cidrs.filter((c) => c.version === 4).map(v4Range))
}

function v4Range(c: Cidr): [number, number] {
  const bits = Math.min(32, c.bits)
  const mask = bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  const lo = (c.words[0] & mask) >>> 0
  return [lo, (lo | ~mask) >>> 0]
}

/** A condition the generated test calls: compileMatch's closure on the packet's state. */
function fallback(m: Match): Fallback {
  if (m.kind === 'saddr' || m.kind === 'daddr') {
    const inList = cidrList(m.cidrs)
    const yes = m.negate ? NO : YES
    const no = m.negate ? YES : NO
    return m.kind === 'saddr'
      ? (s) => (inList(s.ctx.src) ? yes : no)
      : (s) => (inList(s.ctx.dst) ? yes : no)
  }
  const t = compileMatch(m)
  return (s) => t(s.p, s.ctx)
}

/** One condition as a closure with matchOne's answer (NO, YES, UNKNOWN). */
function compileMatch(m: Match): Test {
  const neg = 'negate' in m && m.negate
  const yes = neg ? NO : YES
  const no = neg ? YES : NO
  switch (m.kind) {
    case 'saddr':
    case 'daddr': {
      const inList = cidrList(m.cidrs)
      return m.kind === 'saddr'
        ? (_p, ctx) => (inList(ctx.src) ? yes : no)
        : (_p, ctx) => (inList(ctx.dst) ? yes : no)
    }
    case 'saddr-range':
    case 'daddr-range': {
      const { from, to } = m
      const src = m.kind === 'saddr-range'
      return (_p, ctx) => {
        const addr = src ? ctx.src : ctx.dst
        if (addr.version !== from.version) return no
        return compareAddress(addr, from) >= 0 && compareAddress(addr, to) <= 0 ? yes : no
      }
    }
    case 'iif':
    case 'oif': {
      const { names } = m
      const input = m.kind === 'iif'
      const onlyLo = names.every((n) => n === 'lo')
      const exact = names.every((n) => !n.endsWith('+') && !n.endsWith('*'))
      return (_p, ctx) => {
        const name = input ? ctx.iif : ctx.oif
        if (name === undefined) {
          if (onlyLo) return isLoopback(ctx.src) || isLoopback(ctx.dst) ? yes : no
          return UNKNOWN
        }
        if (exact) return names.includes(name) ? yes : no
        return names.some((n) => interfaceMatches(n, name)) ? yes : no
      }
    }
    case 'proto': {
      const t = m.protos.includes(PROTO_NUMBER.tcp) ? yes : no
      const u = m.protos.includes(PROTO_NUMBER.udp) ? yes : no
      const i4 = m.protos.includes(PROTO_NUMBER.icmp) ? yes : no
      const i6 = m.protos.includes(PROTO_NUMBER.icmpv6) ? yes : no
      return (p) => (p.proto === 'tcp' ? t : p.proto === 'udp' ? u : p.proto === 'icmp' ? i4 : i6)
    }
    case 'sport':
    case 'dport': {
      const inRanges = rangeList(m.ranges)
      return m.kind === 'sport'
        ? (_p, ctx) => (ctx.sport === undefined ? no : inRanges(ctx.sport) ? yes : no)
        : (_p, ctx) => (ctx.dport === undefined ? no : inRanges(ctx.dport) ? yes : no)
    }
    case 'tcp-flags': {
      const { mask, set } = m
      return (p) => (p.tcpFlags === undefined ? no : (p.tcpFlags & mask) === set ? yes : no)
    }
    case 'icmp-type': {
      const { v6, type, code } = m
      return (p) => {
        if (p.icmpType === undefined || (p.proto === 'icmpv6') !== v6) return no
        return p.icmpType === type && (code === undefined || p.icmpCode === code) ? yes : no
      }
    }
    case 'ct-state': {
      const { states, nat } = m
      const dnat = nat?.includes('dnat') ?? false
      const snat = nat?.includes('snat') ?? false
      return (_p, ctx) => {
        if (states.includes(ctx.ct)) return yes
        if (!nat) return no
        if ((dnat && ctx.dnatted) || (snat && ctx.snatted)) return yes
        return ctx.ct === 'new' ? no : UNKNOWN
      }
    }
    case 'length':
    case 'ttl': {
      const inRanges = rangeList(m.ranges)
      return m.kind === 'length'
        ? (p) => (p.len === undefined ? UNKNOWN : inRanges(p.len) ? yes : no)
        : (_p, ctx) => (ctx.ttl === undefined ? UNKNOWN : inRanges(ctx.ttl) ? yes : no)
    }
    default:
      // The rarer conditions (marks, owner, addrtype, MAC, ipsets, stateful, unmodelled): the
      // traced walk's own code.
      return (p, ctx) => {
        const r = matchOne(m, p, ctx)
        return r === 'unknown' ? UNKNOWN : r ? YES : NO
      }
  }
}

/** Whether an address is in any of the prefixes (inCidr's answer), as a closure. */
function cidrList(cidrs: Cidr[]): (addr: Cidr) => boolean {
  const v6 = cidrs.filter((c) => c.version === 6)
  const v4 = intervals(cidrs.filter((c) => c.version === 4).map(v4Range))
  const has6 = v6.length > 0
  return (addr) => {
    if (addr.version === 4) return v4(addr.words[0] >>> 0)
    if (!has6) return false
    for (let i = 0; i < v6.length; i++) if (inCidr(addr, v6[i])) return true
    return false
  }
}

/** Whether a port or number is in any of the ranges, as a closure. */
function rangeList(ranges: [number, number][]): (n: number) => boolean {
  if (ranges.length <= 4) {
    const flat = ranges.flat()
    return (n) => {
      for (let i = 0; i < flat.length; i += 2) if (n >= flat[i] && n <= flat[i + 1]) return true
      return false
    }
  }
  return intervals(ranges)
}

/** Inclusive ranges merged into sorted disjoint intervals. */
function merge(ranges: [number, number][]): [number, number][] {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).sort((x, y) => x[0] - y[0])
  const out: [number, number][] = []
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1]
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
    else out.push([lo, hi])
  }
  return out
}

/** Inclusive ranges merged into sorted disjoint intervals, searched by halves. */
function intervals(ranges: [number, number][]): (n: number) => boolean {
  const merged = merge(ranges)
  const L = Float64Array.from(merged, (r) => r[0])
  const H = Float64Array.from(merged, (r) => r[1])
  const n = L.length
  if (n === 0) return () => false
  if (n === 1) {
    const lo = L[0]
    const hi = H[0]
    return (x) => x >= lo && x <= hi
  }
  const t = buckets(L)
  return (x) => {
    // The last interval starting at or below x.
    if (x < L[0]) return false
    return x <= H[bucketSlot(L, t, x)]
  }
}

// ---------------------------------------------------------------------------------------------
// Candidate index

/**
 * One dimension of a chain's index: the value line cut into elementary intervals at every rule's
 * bounds, each holding the bit set of rules whose condition on this dimension can hold there.
 * A rule's bit is clear only where its condition certainly fails (so it cannot match, nor be
 * undecided): skipping it changes nothing.
 */
interface Dim {
  /** Which value: 0 source, 1 destination, 2 destination port, 3 protocol. */
  which: number
  starts: Float64Array
  table: Buckets
  bits: Int32Array
  /** Rules this dimension does not constrain. */
  free: Int32Array
  /** Rules that can match a packet without a value here (-1: IPv6 for an IPv4 line, no port; -2: not indexed). */
  none: Int32Array
}

interface ChainIndex {
  words: number
  dims: Dim[]
}

type Constraint = { ranges: [number, number][]; none: boolean } | undefined

const DIMENSIONS: {
  of: (rule: Rule) => Constraint
}[] = [
  {
    of: (r) => addressConstraint(r, 'saddr')
  },
  {
    of: (r) => addressConstraint(r, 'daddr')
  },
  {
    of: (r) => {
      const m = r.matches.find((x) => x.kind === 'dport' && !x.negate)
      return m?.kind === 'dport' ? { ranges: m.ranges, none: false } : undefined
    }
  },
  {
    of: (r) => {
      const m = r.matches.find((x) => x.kind === 'proto' && !x.negate)
      return m?.kind === 'proto' ? { ranges: m.protos.map((n) => [n, n]), none: false } : undefined
    }
  }
]

/** An IPv4 address as a number; -1 for IPv6; -2 (not indexed) for a word stored signed. */
function addressValue(a: Cidr): number {
  if (a.version !== 4) return -1
  const w = a.words[0]
  return w >= 0 && w <= 0xffffffff ? w : -2
}

/** A positive address condition as IPv4 ranges (an IPv6 packet passes it only with IPv6 prefixes). */
function addressConstraint(rule: Rule, kind: 'saddr' | 'daddr'): Constraint {
  for (const m of rule.matches) {
    if (m.kind === kind && !m.negate) {
      const ranges = m.cidrs
        .filter((c) => c.version === 4)
        .map((c): [number, number] => {
          const bits = Math.min(32, c.bits)
          const mask = bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
          const lo = (c.words[0] & mask) >>> 0
          return [lo, (lo | ~mask) >>> 0]
        })
      return { ranges, none: m.cidrs.some((c) => c.version === 6) }
    }
    // compareAddress compares the words as stored: only unsigned words index as numbers.
    if (m.kind === `${kind}-range` && 'from' in m && !m.negate && m.from.version === 4) {
      const [lo, hi] = [m.from.words[0], m.to.words[0]]
      if (lo >= 0 && hi >= 0 && lo === lo >>> 0 && hi === hi >>> 0)
        return { ranges: [[lo, hi]], none: false }
    }
  }
  return undefined
}

function buildIndex(rules: Rule[]): ChainIndex | undefined {
  const n = rules.length
  const words = (n + 31) >>> 5
  const dims: Dim[] = []
  for (const [which, d] of DIMENSIONS.entries()) {
    const cons = rules.map(d.of)
    const constrained = cons.filter((c) => c !== undefined).length
    if (constrained * 8 < n) continue
    const points = new Set<number>([0])
    for (const c of cons)
      for (const [lo, hi] of c?.ranges ?? []) if (lo <= hi) points.add(lo).add(hi + 1)
    const starts = Float64Array.from([...points].sort((x, y) => x - y))
    if (starts.length * words > INDEX_MAX_WORDS) continue
    const bits = new Int32Array(starts.length * words)
    const free = new Int32Array(words)
    const none = new Int32Array(words)
    cons.forEach((c, i) => {
      const w = i >>> 5
      const bit = 1 << (i & 31)
      if (!c) {
        free[w] |= bit
        none[w] |= bit
        return
      }
      if (c.none) none[w] |= bit
      for (const [lo, hi] of c.ranges) {
        if (lo > hi) continue
        for (let k = slot(starts, lo); k < starts.length && starts[k] <= hi; k++)
          bits[k * words + w] |= bit
      }
    })
    // Rules this dimension does not constrain are candidates in every row.
    for (let k = 0; k < starts.length; k++)
      for (let w = 0; w < words; w++) bits[k * words + w] |= free[w]
    dims.push({ which, starts, table: buckets(starts), bits, free, none })
  }
  return dims.length ? { words, dims } : undefined
}

/**
 * A table narrowing the search in sorted starts: the value line from starts[1] cut into equal
 * buckets (a power of two wide), each giving the index of the start at or below its first value.
 */
interface Buckets {
  lut: Int32Array
  base: number
  /** 1 / the bucket width. */
  scale: number
}

function buckets(starts: Float64Array): Buckets {
  const n = starts.length
  if (n < 16) return { lut: new Int32Array(0), base: 0, scale: 0 }
  const base = starts[1]
  const span = starts[n - 1] - base + 1
  const count = Math.min(1 << 16, 2 ** Math.ceil(Math.log2(n * 2)))
  let shift = 0
  while (2 ** shift * count < span) shift++
  const lut = new Int32Array(count + 1)
  let j = 0
  for (let k = 0; k <= count; k++) {
    const x = base + k * 2 ** shift
    while (j + 1 < n && starts[j + 1] <= x) j++
    lut[k] = j
  }
  return { lut, base, scale: 1 / 2 ** shift }
}

/** slot(starts, x) through the bucket table (x at least 0, below 2^32). */
function bucketSlot(starts: Float64Array, t: Buckets, x: number): number {
  const lut = t.lut
  if (lut.length === 0) return slot(starts, x)
  if (x < t.base) return 0
  const i = Math.floor((x - t.base) * t.scale)
  if (i >= lut.length - 1) return starts.length - 1
  let a = lut[i]
  let b = lut[i + 1]
  while (a < b) {
    const mid = (a + b + 1) >> 1
    if (starts[mid] <= x) a = mid
    else b = mid - 1
  }
  return a
}

/** The elementary interval holding x (the last start at or below it). */
function slot(starts: Float64Array, x: number): number {
  let a = 0
  let b = starts.length - 1
  while (a < b) {
    const mid = (a + b + 1) >> 1
    if (starts[mid] <= x) a = mid
    else b = mid - 1
  }
  return a
}

// ---------------------------------------------------------------------------------------------
// The walk

/** The state of one decision. */
interface State extends FastPacket {
  /** The index's address values (addressValue). */
  srcIdx: number
  dstIdx: number
  uncertain: boolean
  verdict: 'accept' | 'drop' | 'reject'
  rejectWith?: string
  by?: DecidedBy
  dnatTo?: string
}

const NOWHERE: Cidr = { version: 4, words: [0], bits: 32 }
/** Every field present from the start: one object shape for every closure that reads it. */
const CTX: MatchContext = {
  ct: 'new',
  iif: undefined,
  oif: undefined,
  src: NOWHERE,
  dst: NOWHERE,
  sport: undefined,
  dport: undefined,
  ipsets: undefined,
  dnatted: undefined,
  snatted: undefined,
  stateful: undefined,
  ttl: undefined,
  mark: undefined,
  ctMark: undefined,
  socket: undefined,
  noMac: undefined,
  local: undefined
}
const STATE: State = {
  p: undefined as unknown as PacketSpec,
  ctx: CTX,
  src4: -1,
  dst4: -1,
  sport: -1,
  dport: -1,
  proto: 0,
  flags: -1,
  icmpType: -1,
  icmpCode: -1,
  srcIdx: -1,
  dstIdx: -1,
  uncertain: false,
  verdict: 'accept',
  rejectWith: undefined,
  by: undefined,
  dnatTo: undefined
}

/** What a chain or a rule leaves: go on, return to the caller, or a verdict (in the state). */
const NEXT = 0
const RETURN = 1
const VERDICT = 2

/**
 * Returns what walkNetfilter would return for the packet (verdict, rejectWith, decidedBy,
 * uncertain, ct, dnatTo) without building its trace: the same walk over the compiled ruleset.
 */
export function decide(ruleset: Ruleset, packet: PacketSpec, options: WalkOptions): Decision {
  const c = compiled(ruleset)
  const ct: CtState = options.ct ?? packet.impliedCt
  const path = options.path
  // One context and state, reset for each decision (decide does not nest): no garbage per packet.
  const ctx = CTX
  ctx.ct = ct
  ctx.iif = path === 'output' ? undefined : options.iif
  ctx.oif = path === 'input' ? undefined : options.oif
  ctx.src = packet.src
  ctx.dst = packet.dst
  ctx.sport = packet.sport
  ctx.dport = packet.dport
  ctx.ipsets = ruleset.ipsets
  ctx.dnatted = undefined
  ctx.snatted = undefined
  ctx.stateful = options.stateful
  ctx.ttl = packet.ttl
  ctx.mark = packet.mark
  ctx.ctMark = packet.ctMark
  ctx.socket = path === 'forward' ? 'none' : undefined
  ctx.noMac = path === 'output' ? true : undefined
  ctx.local = options.local
  const s = STATE
  s.p = packet
  s.src4 = packet.src.version === 4 ? packet.src.words[0] >>> 0 : -1
  s.dst4 = packet.dst.version === 4 ? packet.dst.words[0] >>> 0 : -1
  s.srcIdx = addressValue(packet.src)
  s.dstIdx = addressValue(packet.dst)
  s.sport = packet.sport ?? -1
  s.dport = packet.dport ?? -1
  s.proto = PROTO_NUMBER[packet.proto]
  s.flags = packet.tcpFlags ?? -1
  s.icmpType = packet.icmpType ?? -1
  s.icmpCode = packet.icmpCode ?? -1
  s.uncertain = false
  s.verdict = 'accept'
  s.rejectWith = undefined
  s.by = undefined
  s.dnatTo = undefined
  let finalAccept: DecidedBy | undefined
  for (const hook of c.paths[path][packet.src.version === 4 ? 0 : 1]) {
    if (hook.forward && ctx.ttl !== undefined) {
      if (ctx.ttl <= 1) s.uncertain = true
      ctx.ttl = Math.max(0, ctx.ttl - 1)
    }
    for (const cc of hook.chains) {
      const chain = cc.chain
      if (chain.base!.type === 'nat' && ct !== 'new') continue
      const out = runChain(s, cc, 0)
      if (out === VERDICT) {
        if (s.verdict !== 'accept') return decision(s, s.verdict, s.by)
        if (isMainChain(chain, path) || !finalAccept) finalAccept = s.by
        continue
      }
      if (chain.base!.policy === 'drop') return decision(s, 'drop', cc.policyBy)
      if (isMainChain(chain, path) || !finalAccept) finalAccept = cc.policyBy
    }
  }
  return decision(s, 'accept', finalAccept)
}

function decision(s: State, verdict: Decision['verdict'], by: DecidedBy | undefined): Decision {
  const d: Decision = { verdict, decidedBy: by, uncertain: s.uncertain, ct: s.ctx.ct }
  if (verdict === 'reject') d.rejectWith = s.rejectWith
  if (s.dnatTo !== undefined) d.dnatTo = s.dnatTo
  return d
}

function runChain(s: State, cc: CompiledChain, depth: number): number {
  if (depth > MAX_DEPTH) {
    s.uncertain = true
    return NEXT
  }
  const rules = cc.rules
  const run = cc.run
  if (run) {
    for (let from = 0; ;) {
      const k = run(s, cc.fallbacks, from)
      if (k < 0) return NEXT
      const i = k >> 1
      const out = applyRule(s, rules[i], k & 1 ? UNKNOWN : YES, depth)
      if (out !== NEXT) return out
      from = i + 1
    }
  }
  if (!cc.index) {
    for (let i = 0; i < rules.length; i++) {
      const out = runRule(s, rules[i], depth)
      if (out !== NEXT) return out
    }
    return NEXT
  }
  // The candidates, a word (32 rules) at a time: most packets are decided in the first words.
  const { words, dims } = cc.index
  const d0 = dims[0]
  const d1 = dims[1]
  const d2 = dims[2]
  const d3 = dims[3]
  const o0 = at(d0, s)
  const o1 = at(d1, s)
  const o2 = at(d2, s)
  const o3 = at(d3, s)
  const r0 = o0 >= 0 ? d0.bits : o0 === -1 ? d0.none : ALL
  const r1 = o1 >= 0 ? d1.bits : o1 === -1 ? d1.none : ALL
  const r2 = o2 >= 0 ? d2.bits : o2 === -1 ? d2.none : ALL
  const r3 = o3 >= 0 ? d3.bits : o3 === -1 ? d3.none : ALL
  const s0 = o0 > 0 ? o0 : 0
  const s1 = o1 > 0 ? o1 : 0
  const s2 = o2 > 0 ? o2 : 0
  const s3 = o3 > 0 ? o3 : 0
  for (let w = 0; w < words; w++) {
    let bits = r0[s0 + w] & r1[s1 + w] & r2[s2 + w] & r3[s3 + w]
    while (bits !== 0) {
      const low = bits & -bits
      bits ^= low
      const out = runRule(s, rules[(w << 5) | (31 - Math.clz32(low))], depth)
      if (out !== NEXT) return out
    }
  }
  return NEXT
}

const ALL = new Int32Array(1 << 16).fill(-1)

/**
 * Where a dimension's row of candidate bits for the packet starts; -1: the packet has no value
 * here (its row is `none`); -2: every rule is a candidate (no such dimension, or not indexed).
 */
function at(d: Dim | undefined, s: State): number {
  if (!d) return -2
  const w = d.which
  const v = w === 0 ? s.srcIdx : w === 1 ? s.dstIdx : w === 2 ? s.dport : s.proto
  if (v < 0) return v
  return bucketSlot(d.starts, d.table, v) * d.free.length
}

function runRule(s: State, r: CompiledRule, depth: number): number {
  const m = r.test(s, r.fallbacks)
  if (m === NO) return NEXT
  return applyRule(s, r, m, depth)
}

/** What a rule whose conditions hold (YES) or may hold (UNKNOWN) does. */
function applyRule(s: State, r: CompiledRule, m: number, depth: number): number {
  const ctx = s.ctx
  if (m === UNKNOWN) {
    if (r.decisive) s.uncertain = true
    // A mark that may or may not have been set is no longer known.
    if (r.sets) for (const x of r.sets) ctx[x.field === 'mark' ? 'mark' : 'ctMark'] = undefined
    return NEXT
  }
  if (r.marks) for (const x of r.marks) setMark(ctx, x)
  const a = r.action
  switch (a.kind) {
    case 'accept':
    case 'drop':
      s.verdict = a.kind
      s.by = r.by
      return VERDICT
    case 'reject':
      s.verdict = 'reject'
      s.rejectWith = a.with
      s.by = r.by
      return VERDICT
    case 'return':
      return RETURN
    case 'jump':
    case 'goto': {
      if (!r.target) {
        s.uncertain = true
        return NEXT
      }
      const out = runChain(s, r.target, depth + 1)
      if (out === VERDICT) return VERDICT
      return a.kind === 'goto' ? RETURN : NEXT
    }
    case 'dnat':
    case 'snat':
    case 'masquerade':
    case 'redirect':
      if (a.kind === 'dnat' || a.kind === 'redirect') ctx.dnatted = true
      else ctx.snatted = true
      if (a.kind === 'dnat' && a.to) {
        const to = r.dnat!.addr
        if (to) {
          ctx.dst = to
          s.dst4 = to.version === 4 ? to.words[0] >>> 0 : -1
          s.dstIdx = addressValue(to)
        }
        if (r.dnat!.port !== undefined) s.dport = ctx.dport = r.dnat!.port
        s.dnatTo = a.to
      }
      s.verdict = 'accept'
      s.by = r.by
      return VERDICT
    case 'set-mark':
      setMark(ctx, a)
      return NEXT
    case 'other':
      if (a.terminal) s.uncertain = true
      return NEXT
    default:
      return NEXT
  }
}
