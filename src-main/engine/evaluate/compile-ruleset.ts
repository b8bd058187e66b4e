/**
 * The evaluator's fast path: a Ruleset compiled once (cached per Ruleset) into generated tests
 * per rule and per chain (compile-match.ts), jumps into direct references, and long chains into
 * a classifier (chain-index.ts) that gives, for each packet, the rules whose header conditions
 * hold, lowest first, so that a packet meets only those, and of each only what the classifier
 * does not decide. Rules without effect on the walk (log, counter) are never visited.
 *
 * `decide` gives what walkNetfilter gives (verdict, the rule or policy that decided, whether it
 * is uncertain, the DNAT target) without the trace: for packets by the million. The traced walk
 * stays the explanation; the two must agree on everything `decide` returns.
 */
import {
  untracks,
  type Action,
  type Chain,
  type Cidr,
  type CtState,
  type Match,
  type Rule,
  type Ruleset,
  type SetMark,
  type Table
} from '../rulesets/model'
import { buildChainIndex, keyedRow, type ChainIndex, type RangeDim } from './chain-index'
import {
  NO,
  testCompiler,
  UNKNOWN,
  YES,
  type ChainTest,
  type CompiledTest,
  type RuleTest
} from './compile-match'
import type { Fallback, FastPacket } from './compile-rule-source'
import { buildFields, fieldSlot, type Field } from './field-slots'
import { inIntervals, merge, prefixRange, slot } from './intervals'
import { isOwnAddress, type MatchContext } from './match-rule'
import type { PacketSpec } from './packet-spec'
import {
  baseChains,
  decisive,
  deviceFits,
  dnatDestination,
  HOOKS,
  isMainChain,
  MAX_DEPTH,
  runsBeforeConntrack,
  setMark,
  type DecidedBy,
  type RoutedPath,
  type WalkOptions,
  type WalkResult,
  walkNetfilter
} from './walk-netfilter'

/** What `decide` returns: the walk's result without its trace and reasons. */
export type Decision = Pick<
  WalkResult,
  'verdict' | 'rejectWith' | 'decidedBy' | 'ct' | 'dnatTo'
> & {
  uncertain: boolean
}

/** Chains walked in full with at most this many rules are tested by one function. */
const CHAIN_FUNCTION_MAX_RULES = 256
/** Chains with at least this many rules get a classifier. */
const INDEX_MIN_RULES = 48
/**
 * A classified chain's first rules are tested in turn, by one function, before the classifier
 * is asked about the rest: a packet a rule among them decides (most packets, where the common
 * cases come first) reads none of the classifier's tables. A multiple of 32 (a word of rows).
 */
const HEAD_RULES = 32
/** Chains with more rules than this are walked in full (the classifier's rows are this wide). */
const INDEX_MAX_RULES = 32 << 16
/** Combinations of protocol, conntrack state and interfaces numbered before the numbers start over. */
const MAX_COMBOS = 1 << 14
/** Pairs of interfaces kept before the numbers start over (each packet searches them in turn). */
const MAX_PAIRS = 64

/**
 * A rule ready for the walk. Every field is present from the start (one object shape), and the
 * walk reads the action's facts from here, not from the action (whose shape varies by kind).
 */
interface CompiledRule {
  /** The rule's full test: compiled on first use in a classified chain. */
  test: RuleTest
  /** The closures the test calls for the conditions it does not write out. */
  fallbacks: Fallback[]
  /** In a classified chain, what the classifier leaves to test (none: the rule holds). */
  residual: CompiledTest<RuleTest> | undefined
  by: DecidedBy
  decisive: boolean
  /** Marks set before the verdict, and every mark the rule may set (cleared when it may have). */
  marks: SetMark[] | undefined
  sets: SetMark[] | undefined
  action: Action
  kind: Action['kind']
  /** reject: how; dnat: the target as written; other: whether it ends the walk. */
  rejectWith: string | undefined
  dnatTo: string | undefined
  terminal: boolean
  /** jump/goto: the target chain, null when the table has none of that name. */
  target: CompiledChain | null | undefined
  dnat: { addr?: Cidr; port?: number } | undefined
  /** Takes the packet out of conntrack (NOTRACK, CT --notrack, nft notrack). */
  notrack: boolean
}

interface CompiledChain {
  table: Table
  chain: Chain
  rules: CompiledRule[]
  index: ChainIndex | undefined
  /** Whether a packet may meet a rule of the chain (chainGuard); undefined: no test. */
  guard: ((s: State) => boolean) | undefined
  /** A classified chain's first rules (HEAD_RULES) as one function, and the closures it calls. */
  head: ChainTest | undefined
  headFallbacks: Fallback[]
  /** A chain walked in full: its rules' tests as one function, and the closures it calls. */
  run: ChainTest | undefined
  fallbacks: Fallback[]
  policyBy: DecidedBy | undefined
}

/**
 * The base chains a packet of one path and IP version meets, every hook's in turn, lowest
 * priority first, with what the walk asks of each: one flat list, read in one loop.
 */
interface PathPlan {
  chains: PlannedChain[]
  /** Where the forward hook starts in the list (the TTL is lowered there); -1 without one. */
  ttlAt: number
}

interface PlannedChain {
  cc: CompiledChain
  /** The filter chain on the path's own hook: its accept is the one named. */
  main: boolean
  policyDrop: boolean
  /** No rule that can change the walk (none, or only log and counter rules): its policy only. */
  inert: boolean
  /** A NAT chain: it sees a connection's first packet only (not one untracked on the way). */
  nat: boolean
  /** Runs before conntrack (raw priority on prerouting or output): a notrack there holds. */
  beforeConntrack: boolean
  /** A device's own chain (netdev ingress or egress), which sees its devices' packets only. */
  devices: boolean
}

interface Compiled {
  /**
   * By path, then IP version and conntrack state (index 0: IPv4 and new, 1: IPv4 and not new, 2
   * and 3 the same for IPv6): the base chains the packet meets (NAT chains for new ones only).
   */
  paths: Record<RoutedPath, PathPlan[]>
  /** The classifiers and their range fields, cut once for the whole ruleset. */
  indexes: ChainIndex[]
  fields: (Field | undefined)[]
  /**
   * Numbers of the packets' combinations: by pair of interfaces (input, output), met in this
   * order, then by state and protocol.
   */
  pairs: InterfacePair[]
  comboCount: number
  /** Whether a rule translates destinations (a packet to the host may then be routed on). */
  dnat: boolean
}

/** A pair of interfaces a packet came in and goes out by, and its combinations' numbers. */
interface InterfacePair {
  iif: string | undefined
  oif: string | undefined
  numbers: Int32Array
}

const cache = new WeakMap<Ruleset, Compiled>()
/** The ruleset decided last, and its compiled form: packets by the million meet the same one. */
let last: { ruleset: Ruleset; c: Compiled } | undefined

/** Returns the compiled form of a ruleset (compiled on first use, then cached). */
function compiled(ruleset: Ruleset): Compiled {
  if (last?.ruleset === ruleset) return last.c
  let c = cache.get(ruleset)
  if (!c) {
    c = compile(ruleset)
    cache.set(ruleset, c)
  }
  last = { ruleset, c }
  return c
}

function compile(ruleset: Ruleset): Compiled {
  const tests = testCompiler()
  const chains = new Map<Chain, CompiledChain>()
  const byTable = new Map<Table, Map<string, Chain>>()
  const indexes: ChainIndex[] = []
  for (const table of ruleset.tables) {
    const names = new Map<string, Chain>()
    // The traced walk takes the first chain of a name.
    for (const chain of table.chains) if (!names.has(chain.name)) names.set(chain.name, chain)
    byTable.set(table, names)
    for (const chain of table.chains)
      chains.set(chain, {
        table,
        chain,
        rules: [],
        index: undefined,
        guard: undefined,
        head: undefined,
        headFallbacks: [],
        run: undefined,
        fallbacks: [],
        policyBy: undefined
      })
  }
  for (const cc of chains.values()) {
    const { table, chain } = cc
    cc.rules = chain.rules.map((rule, i) => compileRule(table, chain, rule, i))
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
    cc.guard = chainGuard(chain.rules)
    const n = chain.rules.length
    if (n >= INDEX_MIN_RULES && n <= INDEX_MAX_RULES) {
      const { index, residual } = buildChainIndex(chain.rules, isInert)
      cc.index = index
      indexes.push(index)
      const head = tests.chain(
        chain.rules.slice(0, HEAD_RULES).map((r) => (isInert(r) ? undefined : r.matches))
      )
      cc.head = head.test
      cc.headFallbacks = head.fallbacks
      cc.rules.forEach((r, i) => {
        r.test = testOnFirstUse(r, chain.rules[i].matches)
        if (residual[i].length) r.residual = tests.rule(residual[i])
      })
    } else if (n <= CHAIN_FUNCTION_MAX_RULES) {
      const run = tests.chain(chain.rules.map((r) => (isInert(r) ? undefined : r.matches)))
      cc.run = run.test
      cc.fallbacks = run.fallbacks
    } else
      cc.rules.forEach((r, i) => {
        const t = tests.rule(chain.rules[i].matches)
        r.test = t.test
        r.fallbacks = t.fallbacks
      })
  }
  const plan = (kind: RoutedPath, version: 4 | 6, isNew: boolean): PathPlan => {
    const planned: PlannedChain[] = []
    let ttlAt = -1
    for (const hook of HOOKS[kind]) {
      if (hook === 'forward') ttlAt = planned.length
      for (const { chain } of baseChains(ruleset, hook, version)) {
        // NAT chains see a connection's first packet only.
        if (chain.base!.type === 'nat' && !isNew) continue
        planned.push({
          cc: chains.get(chain)!,
          main: isMainChain(chain, kind),
          policyDrop: chain.base!.policy === 'drop',
          inert: chain.rules.every(isInert),
          nat: chain.base!.type === 'nat',
          beforeConntrack: runsBeforeConntrack(chain),
          devices: chain.base!.devices !== undefined
        })
      }
    }
    return { chains: planned, ttlAt }
  }
  const path = (kind: RoutedPath) => [
    plan(kind, 4, true),
    plan(kind, 4, false),
    plan(kind, 6, true),
    plan(kind, 6, false)
  ]
  return {
    paths: { input: path('input'), forward: path('forward'), output: path('output') },
    indexes,
    fields: buildFields(indexes),
    pairs: [],
    comboCount: 0,
    dnat: ruleset.tables.some((t) =>
      t.chains.some((ch) => ch.rules.some((r) => r.action.kind === 'dnat'))
    )
  }
}

function compileRule(table: Table, chain: Chain, rule: Rule, index: number): CompiledRule {
  const a = rule.action
  const sets = [...(rule.marks ?? []), ...(a.kind === 'set-mark' ? [a] : [])]
  return {
    test: NOT_COMPILED,
    fallbacks: [],
    residual: undefined,
    by: Object.freeze({
      kind: 'rule',
      table: table.name,
      chain: chain.name,
      line: rule.source.line,
      index,
      rule: rule.text
    }),
    decisive: decisive(a),
    marks: rule.marks?.length ? rule.marks : undefined,
    sets: sets.length ? sets : undefined,
    action: a,
    kind: a.kind,
    rejectWith: a.kind === 'reject' ? a.with : undefined,
    dnatTo: a.kind === 'dnat' && a.to ? a.to : undefined,
    terminal: a.kind === 'other' && a.terminal,
    target: undefined,
    dnat: a.kind === 'dnat' && a.to ? dnatDestination(a.to) : undefined,
    notrack: untracks(rule)
  }
}

const NOT_COMPILED: RuleTest = () => {
  throw new Error('rule test not compiled')
}

/**
 * Whether a rule leaves the walk as it is, whether it matches, fails or is undecided: not
 * decisive (log, counter, a target that does not end the walk) and setting no mark.
 */
function isInert(rule: Rule): boolean {
  return (
    !decisive(rule.action) &&
    rule.action.kind !== 'set-mark' &&
    !rule.marks?.length &&
    !untracks(rule)
  )
}

/** Chains with fewer rules that can change the walk than this are not given a guard. */
const GUARD_MIN_RULES = 8
const NO_PORT = -1

/**
 * A test that a packet may meet a rule of the chain, made when every rule that can change the
 * walk names the protocol, a port or an address (not negated): the union of what they name, per
 * condition. A packet outside it fails each of those rules (a condition that fails makes the rule
 * fail, whatever the others), so the chain leaves the walk as it is. Addresses are tested for
 * IPv4 packets only. Undefined when no condition leaves a packet out.
 */
function chainGuard(rules: Rule[]): ((s: State) => boolean) | undefined {
  const active = rules.filter((r) => !isInert(r))
  if (active.length < GUARD_MIN_RULES) return undefined
  /** Per rule, the first condition of the kind (not negated), or undefined when one has none. */
  const named = <K extends Match['kind']>(kind: K): Extract<Match, { kind: K }>[] | undefined => {
    const found: Extract<Match, { kind: K }>[] = []
    for (const r of active) {
      const m = r.matches.find((x) => x.kind === kind && !('negate' in x && x.negate))
      if (!m) return undefined
      found.push(m as Extract<Match, { kind: K }>)
    }
    return found
  }
  /** The union of ranges as a test, or undefined when it holds every number from 0 to max. */
  const union = (ranges: [number, number][], max: number) => {
    const merged = merge(ranges)
    const all = merged.length === 1 && merged[0][0] <= 0 && merged[0][1] >= max
    return all ? undefined : inIntervals(merged)
  }
  const addresses = (kind: 'saddr' | 'daddr') => {
    const ms = named(kind)
    if (!ms) return undefined
    const v4 = ms.flatMap((m) => m.cidrs.filter((c) => c.version === 4).map(prefixRange))
    return union(v4, 0xffffffff)
  }
  const ports = (kind: 'sport' | 'dport') => {
    const ms = named(kind)
    return (
      ms &&
      union(
        ms.flatMap((m) => m.ranges),
        65535
      )
    )
  }
  const protoList = named('proto')
  const protos = protoList && new Set(protoList.flatMap((m) => m.protos))
  const proto =
    protos && [6, 17, 1, 58].some((n) => !protos.has(n))
      ? Uint8Array.from({ length: 256 }, (_, n) => (protos.has(n) ? 1 : 0))
      : undefined
  const src = addresses('saddr')
  const dst = addresses('daddr')
  const sport = ports('sport')
  const dport = ports('dport')
  if (!proto && !src && !dst && !sport && !dport) return undefined
  return (s) =>
    (proto === undefined || proto[s.proto] === 1) &&
    (src === undefined || s.src4 < 0 || src(s.src4)) &&
    (dst === undefined || s.dst4 < 0 || dst(s.dst4)) &&
    (sport === undefined || (s.sport !== NO_PORT && sport(s.sport))) &&
    (dport === undefined || (s.dport !== NO_PORT && dport(s.dport)))
}

/**
 * A rule's full test, compiled when first called: in a classified chain it runs only for packets
 * the classifier cannot decide (IPv6 against IPv4 rows, an unknown interface), so most never run.
 */
function testOnFirstUse(r: CompiledRule, matches: Match[]): RuleTest {
  return (s) => {
    const t = testCompiler().rule(matches)
    r.test = t.test
    r.fallbacks = t.fallbacks
    return t.test(s, t.fallbacks)
  }
}

// ---------------------------------------------------------------------------------------------
// The walk

/** The state of one decision. */
interface State extends FastPacket {
  /** The classifier's address values (addressValue). */
  srcIdx: number
  dstIdx: number
  /** The ruleset decided, compiled. */
  c: Compiled
  /** By field, the packet's elementary interval in it, once a chain has asked (-1 before). */
  slots: Int32Array
  /**
   * The number of the packet's protocol, conntrack state and interfaces (comboNumber), once a
   * classifier has asked (-1 before): a packet a chain's head decides needs none.
   */
  combo: number
  uncertain: boolean
  verdict: 'accept' | 'drop' | 'reject'
  rejectWith?: string
  by?: DecidedBy
  dnatTo?: string
  /** The base chain being walked runs before conntrack (a notrack there holds). */
  beforeConntrack: boolean
  /** The packet is to the host (path input): a DNAT may send it on. */
  input: boolean
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
  c: undefined as unknown as Compiled,
  slots: new Int32Array(4),
  combo: -1,
  uncertain: false,
  verdict: 'accept',
  rejectWith: undefined,
  by: undefined,
  dnatTo: undefined,
  beforeConntrack: false,
  input: false
}

/** What a chain or a rule leaves: go on, return to the caller, or a verdict (in the state). */
const NEXT = 0
const RETURN = 1
const VERDICT = 2

/** The traced walk's decision, for the paths the plans do not cover. */
function traced(ruleset: Ruleset, packet: PacketSpec, options: WalkOptions): Decision {
  const { verdict, rejectWith, decidedBy, ct, dnatTo, uncertain } = walkNetfilter(
    ruleset,
    packet,
    options
  )
  return { verdict, rejectWith, decidedBy, ct, dnatTo, uncertain }
}

/**
 * Returns what walkNetfilter would return for the packet (verdict, rejectWith, decidedBy,
 * uncertain, ct, dnatTo) without building its trace: the same walk over the compiled ruleset.
 */
export function decide(ruleset: Ruleset, packet: PacketSpec, options: WalkOptions): Decision {
  // Bridged packets are rare beside routed ones: their walk is not compiled.
  if (options.path === 'bridge') return traced(ruleset, packet, options)
  if (options.notBridged && packet.physIn === undefined && packet.physOut === undefined)
    packet = { ...packet, physIn: null, physOut: null }
  const c = compiled(ruleset)
  // A packet to the host that a DNAT may send elsewhere takes the forward path from there on:
  // the traced walk follows it (rare beside the packets the plans decide).
  if (options.path === 'input' && options.local && c.dnat) return traced(ruleset, packet, options)
  // Each field read once: packets come in many shapes (the optional fields each has or lacks),
  // and a field read from objects of many shapes is looked up each time.
  const path = options.path
  const ct: CtState = options.ct ?? packet.impliedCt
  const iif = path === 'output' ? undefined : options.iif
  const oif = path === 'input' ? undefined : options.oif
  const src = packet.src
  const dst = packet.dst
  const sport = packet.sport
  const dport = packet.dport
  const srcIdx = addressValue(src)
  const dstIdx = addressValue(dst)
  const proto = protoNumber(packet.proto)
  // One context and state, reset for each decision (decide does not nest): no garbage per packet.
  const ctx = CTX
  ctx.ct = ct
  ctx.iif = iif
  ctx.oif = oif
  ctx.src = src
  ctx.dst = dst
  ctx.sport = sport
  ctx.dport = dport
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
  s.input = path === 'input'
  s.p = packet
  s.src4 = srcIdx === -1 ? -1 : src.words[0] >>> 0
  s.dst4 = dstIdx === -1 ? -1 : dst.words[0] >>> 0
  s.srcIdx = srcIdx
  s.dstIdx = dstIdx
  s.sport = sport ?? -1
  s.dport = dport ?? -1
  s.proto = proto
  s.flags = packet.tcpFlags ?? -1
  s.icmpType = packet.icmpType ?? -1
  s.icmpCode = packet.icmpCode ?? -1
  s.c = c
  s.combo = -1
  const slots = s.slots
  slots[0] = slots[1] = slots[2] = slots[3] = -1
  s.uncertain = false
  s.verdict = 'accept'
  s.rejectWith = undefined
  s.by = undefined
  s.dnatTo = undefined
  let finalAccept: DecidedBy | undefined
  const plan = (
    path === 'input' ? c.paths.input : path === 'forward' ? c.paths.forward : c.paths.output
  )[(srcIdx === -1 ? 2 : 0) + (ct === 'new' ? 0 : 1)]
  const chains = plan.chains
  const ttlAt = plan.ttlAt
  for (let i = 0; i < chains.length; i++) {
    if (i === ttlAt) lowerTtl(s)
    const { cc, main, policyDrop, inert, nat, beforeConntrack, devices } = chains[i]
    // A packet untracked on the way meets no NAT chain.
    if (nat && ctx.ct !== 'new') continue
    if (devices) {
      const fits = deviceFits(cc.chain, ctx.iif, ctx.oif)
      if (!fits) continue
      if (fits === 'unknown') s.uncertain = true
    }
    s.beforeConntrack = beforeConntrack
    if (!inert && runChain(s, cc, 0) === VERDICT) {
      if (s.verdict !== 'accept') return decision(s, s.verdict, s.by)
      if (main || !finalAccept) finalAccept = s.by
      continue
    }
    if (policyDrop) return decision(s, 'drop', cc.policyBy)
    if (main || !finalAccept) finalAccept = cc.policyBy
  }
  if (ttlAt === chains.length) lowerTtl(s)
  return decision(s, 'accept', finalAccept)
}

/** Routing a forwarded packet lowers its TTL (hop limit) before the forward hook. */
function lowerTtl(s: State): void {
  const ctx = s.ctx
  const ttl = ctx.ttl
  if (ttl === undefined) return
  if (ttl <= 1) s.uncertain = true
  ctx.ttl = Math.max(0, ttl - 1)
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
  const guard = cc.guard
  if (guard !== undefined && !guard(s)) return NEXT
  const rules = cc.rules
  const run = cc.run
  if (run) return runFunction(s, rules, run, cc.fallbacks, depth)
  const index = cc.index
  if (index) {
    const head = runFunction(s, rules, cc.head!, cc.headFallbacks, depth)
    if (head !== NEXT || rules.length <= HEAD_RULES) return head
    return runClassified(s, cc, index, depth)
  }
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]
    const m = r.test(s, r.fallbacks)
    if (m === NO) continue
    const out = applyRule(s, r, m, depth)
    if (out !== NEXT) return out
  }
  return NEXT
}

/** Rules tested by one function (a chain's, or a classified chain's head): from the first on. */
function runFunction(
  s: State,
  rules: CompiledRule[],
  run: ChainTest,
  fallbacks: Fallback[],
  depth: number
): number {
  for (let from = 0; ;) {
    const k = run(s, fallbacks, from)
    if (k < 0) return NEXT
    const i = k >> 1
    const out = applyRule(s, rules[i], k & 1 ? UNKNOWN : YES, depth)
    if (out !== NEXT) return out
    from = i + 1
  }
}

/**
 * A classified chain past its head: the candidates a word (32 rules) at a time, lowest first; a
 * candidate the classifier decides is tested for its residual conditions only, any other in full.
 */
function runClassified(s: State, cc: CompiledChain, index: ChainIndex, depth: number): number {
  const rules = cc.rules
  const ctx = s.ctx
  if (s.combo < 0) s.combo = comboNumber(s.c, s.proto, ctx.ct, ctx.iif, ctx.oif)
  const row = keyedRow(index, s.combo, s.proto, ctx)
  const first = Math.max(row.first, HEAD_RULES >>> 5)
  if (first >= row.end) return NEXT
  const cand = row.candidates
  // The address rows decide only for IPv4 addresses read as numbers.
  const exact = s.srcIdx >= 0 && s.dstIdx >= 0 ? row.exact : NONE
  const dims = index.dims
  const d0 = dims[0]
  const d1 = dims[1]
  const d2 = dims[2]
  const d3 = dims[3]
  const r0 = rowsOf(d0, s.srcIdx)
  const r1 = rowsOf(d1, s.dstIdx)
  const r2 = rowsOf(d2, s.sport)
  const r3 = rowsOf(d3, s.dport)
  // Each field's row: word w at its interval's place plus w × the field's stride (0: every rule).
  const t0 = strideOf(d0, s.srcIdx)
  const t1 = strideOf(d1, s.dstIdx)
  const t2 = strideOf(d2, s.sport)
  const t3 = strideOf(d3, s.dport)
  let o0 = placeOf(s, d0, 0, s.srcIdx) + first * t0
  let o1 = placeOf(s, d1, 1, s.dstIdx) + first * t1
  let o2 = placeOf(s, d2, 2, s.sport) + first * t2
  let o3 = placeOf(s, d3, 3, s.dport) + first * t3
  for (let w = first; w < row.end; w++, o0 += t0, o1 += t1, o2 += t2, o3 += t3) {
    let bits = cand[w] & r0[o0] & r1[o1] & r2[o2] & r3[o3]
    if (bits === 0) continue
    const decided = exact[w]
    do {
      const low = bits & -bits
      bits ^= low
      const r = rules[(w << 5) | (31 - Math.clz32(low))]
      const res = r.residual
      const m =
        (decided & low) === 0
          ? r.test(s, r.fallbacks)
          : res === undefined
            ? YES
            : res.test(s, res.fallbacks)
      if (m === NO) continue
      const out = applyRule(s, r, m, depth)
      if (out !== NEXT) return out
    } while (bits !== 0)
  }
  return NEXT
}

/** Every rule a candidate (a field not indexed, or a value the classifier cannot place). */
const ALL = Int32Array.of(-1)
/** No rule decided by the classifier. */
const NONE = new Int32Array(INDEX_MAX_RULES >>> 5)

/** A range field's rows for a packet's value: -1 no value (the `none` row), -2 not indexed. */
function rowsOf(d: RangeDim | undefined, v: number): Int32Array {
  return !d || v === -2 ? ALL : d.bits
}

/** The distance from one word of a field's row to the next (0 for ALL, one word for all). */
function strideOf(d: RangeDim | undefined, v: number): number {
  return !d || v === -2 ? 0 : d.stride
}

/**
 * Which row of a field holds the packet's value v: its interval in the chain, found from the
 * packet's interval in the ruleset's field (searched for once per decision, when first asked).
 */
function placeOf(s: State, d: RangeDim | undefined, which: number, v: number): number {
  if (!d || v === -2) return 0
  if (v === -1) return d.starts.length
  const offsets = d.offsets
  if (offsets === undefined) return slot(d.starts, v)
  const slots = s.slots
  let g = slots[which]
  if (g < 0) g = slots[which] = fieldSlot(s.c.fields[which]!, v)
  return offsets[g]
}

/** An IPv4 address as a number; -1 for IPv6; -2 (not indexed) for a word stored signed. */
function addressValue(a: Cidr): number {
  if (a.version !== 4) return -1
  const w = a.words[0]
  return w >= 0 && w <= 0xffffffff ? w : -2
}

function protoNumber(proto: PacketSpec['proto']): number {
  return proto === 'tcp' ? 6 : proto === 'udp' ? 17 : proto === 'icmp' ? 1 : 58
}

const CT_NUMBER: Record<CtState, number> = {
  new: 0,
  established: 1,
  related: 2,
  invalid: 3,
  untracked: 4
}

/**
 * The number of a packet's combination of protocol, conntrack state and interfaces, by which the
 * classifiers keep their keyed rows. Past MAX_COMBOS the numbers start over, and the rows kept.
 */
function comboNumber(
  c: Compiled,
  proto: number,
  ct: CtState,
  iif: string | undefined,
  oif: string | undefined
): number {
  // A host has few interfaces: the pairs met are compared in turn (names compare by reference
  // first), the pair found moved one place forward so that the common ones come first.
  const pairs = c.pairs
  let numbers: Int32Array | undefined
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]
    if (pair.iif === iif && pair.oif === oif) {
      numbers = pair.numbers
      if (i > 0) {
        pairs[i] = pairs[i - 1]
        pairs[i - 1] = pair
      }
      break
    }
  }
  if (!numbers) {
    if (pairs.length >= MAX_PAIRS) return restartCombos(c, proto, ct, iif, oif)
    numbers = new Int32Array(8 * 64)
    pairs.push({ iif, oif, numbers })
  }
  // The protocol numbers a packet has (6, 17, 1, 58) are below 64.
  const at = CT_NUMBER[ct] * 64 + proto
  let n = numbers[at]
  if (n === 0) {
    if (c.comboCount >= MAX_COMBOS) return restartCombos(c, proto, ct, iif, oif)
    n = numbers[at] = ++c.comboCount
  }
  return n
}

function restartCombos(
  c: Compiled,
  proto: number,
  ct: CtState,
  iif: string | undefined,
  oif: string | undefined
): number {
  c.pairs = []
  c.comboCount = 0
  for (const index of c.indexes) index.rows = []
  return comboNumber(c, proto, ct, iif, oif)
}

/** What a rule whose conditions hold (YES) or may hold (UNKNOWN) does. */
function applyRule(s: State, r: CompiledRule, m: number, depth: number): number {
  const ctx = s.ctx
  if (m === UNKNOWN) {
    if (r.decisive || (r.notrack && s.beforeConntrack)) s.uncertain = true
    // A mark that may or may not have been set is no longer known.
    if (r.sets) for (const x of r.sets) ctx[x.field === 'mark' ? 'mark' : 'ctMark'] = undefined
    return NEXT
  }
  if (r.marks) for (const x of r.marks) setMark(ctx, x)
  if (r.notrack && s.beforeConntrack && ctx.ct !== 'untracked') {
    // Out of conntrack before it runs: every later chain sees the packet untracked (and the
    // classifiers' rows, which depend on the state, are looked up again).
    ctx.ct = 'untracked'
    s.combo = -1
  }
  const kind = r.kind
  switch (kind) {
    case 'accept':
    case 'drop':
      s.verdict = kind
      s.by = r.by
      return VERDICT
    case 'reject':
      s.verdict = 'reject'
      s.rejectWith = r.rejectWith
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
      return kind === 'goto' ? RETURN : NEXT
    }
    case 'dnat':
    case 'snat':
    case 'masquerade':
    case 'redirect':
      if (kind === 'dnat' || kind === 'redirect') ctx.dnatted = true
      else ctx.snatted = true
      if (r.dnat) {
        const to = r.dnat.addr
        if (to) {
          ctx.dst = to
          s.dst4 = to.version === 4 ? to.words[0] >>> 0 : -1
          s.dstIdx = addressValue(to)
        }
        if (r.dnat.port !== undefined) s.dport = ctx.dport = r.dnat.port
        // Delivered to the host, or forwarded: unknown without its own addresses (the walk
        // says so too).
        if (s.input && to && isOwnAddress(to, ctx.local) === undefined) s.uncertain = true
        // The rewritten destination is placed again when a chain asks.
        s.slots[1] = -1
        s.slots[3] = -1
        s.dnatTo = r.dnatTo
      }
      s.verdict = 'accept'
      s.by = r.by
      return VERDICT
    case 'set-mark':
      if (r.action.kind === 'set-mark') setMark(ctx, r.action)
      return NEXT
    case 'queue':
      s.uncertain = true
      s.verdict = r.action.kind === 'queue' && r.action.bypass ? 'accept' : 'drop'
      s.by = r.by
      return VERDICT
    case 'other':
      if (r.terminal) s.uncertain = true
      return NEXT
    default:
      return NEXT
  }
}
