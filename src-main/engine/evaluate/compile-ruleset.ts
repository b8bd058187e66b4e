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
import { slot } from './intervals'
import type { MatchContext } from './match-rule'
import type { PacketSpec } from './packet-spec'
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

/** Chains walked in full with at most this many rules are tested by one function. */
const CHAIN_FUNCTION_MAX_RULES = 256
/** Chains with at least this many rules get a classifier. */
const INDEX_MIN_RULES = 48
/** Chains with more rules than this are walked in full (the classifier's rows are this wide). */
const INDEX_MAX_RULES = 32 << 16
/** Combinations of protocol, conntrack state and interfaces numbered before the numbers start over. */
const MAX_COMBOS = 1 << 14

interface CompiledRule {
  /** The rule's full test: compiled on first use in a classified chain. */
  test: RuleTest
  /** The closures the test calls for the conditions it does not write out. */
  fallbacks: Fallback[]
  /** In a classified chain, what the classifier leaves to test (none: the rule holds). */
  residual?: CompiledTest<RuleTest>
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

/** One hook of a path: its base chains, lowest priority first, with what the walk asks of each. */
interface HookPlan {
  forward: boolean
  chains: {
    cc: CompiledChain
    /** NAT chains see a connection's first packet only. */
    nat: boolean
    /** The filter chain on the path's own hook: its accept is the one named. */
    main: boolean
    policyDrop: boolean
  }[]
}

interface Compiled {
  /** By path, then IP version (index 0: IPv4, 1: IPv6): the hooks the packet crosses. */
  paths: Record<PathKind, HookPlan[][]>
  /** The classifiers and their range fields, cut once for the whole ruleset. */
  indexes: ChainIndex[]
  fields: (Field | undefined)[]
  /** Numbers of the packets' combinations (input interface, output interface, then by state and protocol). */
  combos: Map<string | undefined, Map<string | undefined, Int32Array>>
  comboCount: number
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
    const n = chain.rules.length
    if (n >= INDEX_MIN_RULES && n <= INDEX_MAX_RULES) {
      const { index, residual } = buildChainIndex(chain.rules, isInert)
      cc.index = index
      indexes.push(index)
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
  const hookChains = (kind: PathKind, hook: Hook, version: 4 | 6): HookPlan => ({
    forward: hook === 'forward',
    chains: baseChains(ruleset, hook, version).map(({ chain }) => ({
      cc: chains.get(chain)!,
      nat: chain.base!.type === 'nat',
      main: isMainChain(chain, kind),
      policyDrop: chain.base!.policy === 'drop'
    }))
  })
  const path = (kind: PathKind) => [
    HOOKS[kind].map((h) => hookChains(kind, h, 4)),
    HOOKS[kind].map((h) => hookChains(kind, h, 6))
  ]
  return {
    paths: { input: path('input'), forward: path('forward'), output: path('output') },
    indexes,
    fields: buildFields(indexes),
    combos: new Map(),
    comboCount: 0
  }
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

const NOT_COMPILED: RuleTest = () => {
  throw new Error('rule test not compiled')
}

/**
 * Whether a rule leaves the walk as it is, whether it matches, fails or is undecided: not
 * decisive (log, counter, a target that does not end the walk) and setting no mark.
 */
function isInert(rule: Rule): boolean {
  return !decisive(rule.action) && rule.action.kind !== 'set-mark' && !rule.marks?.length
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
  /** The ruleset's range fields, and the elementary intervals of the packet's values in them. */
  fields: (Field | undefined)[]
  srcSlot: number
  dstSlot: number
  sportSlot: number
  dportSlot: number
  /** The number of the packet's protocol, conntrack state and interfaces (comboNumber). */
  combo: number
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
  fields: [],
  srcSlot: 0,
  dstSlot: 0,
  sportSlot: 0,
  dportSlot: 0,
  combo: 0,
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
  s.proto = protoNumber(packet.proto)
  s.flags = packet.tcpFlags ?? -1
  s.icmpType = packet.icmpType ?? -1
  s.icmpCode = packet.icmpCode ?? -1
  s.fields = c.fields
  if (c.indexes.length) {
    s.combo = comboNumber(c, s.proto, ct, ctx.iif, ctx.oif)
    const f = c.fields
    s.srcSlot = placed(f[0], s.srcIdx)
    s.dstSlot = placed(f[1], s.dstIdx)
    s.sportSlot = placed(f[2], s.sport)
    s.dportSlot = placed(f[3], s.dport)
  }
  s.uncertain = false
  s.verdict = 'accept'
  s.rejectWith = undefined
  s.by = undefined
  s.dnatTo = undefined
  let finalAccept: DecidedBy | undefined
  const hooks = (
    path === 'input' ? c.paths.input : path === 'forward' ? c.paths.forward : c.paths.output
  )[s.src4 >= 0 ? 0 : 1]
  for (let h = 0; h < hooks.length; h++) {
    const hook = hooks[h]
    if (hook.forward && ctx.ttl !== undefined) {
      if (ctx.ttl <= 1) s.uncertain = true
      ctx.ttl = Math.max(0, ctx.ttl - 1)
    }
    const chains = hook.chains
    for (let i = 0; i < chains.length; i++) {
      const { cc, nat, main, policyDrop } = chains[i]
      if (nat && ct !== 'new') continue
      const out = runChain(s, cc, 0)
      if (out === VERDICT) {
        if (s.verdict !== 'accept') return decision(s, s.verdict, s.by)
        if (main || !finalAccept) finalAccept = s.by
        continue
      }
      if (policyDrop) return decision(s, 'drop', cc.policyBy)
      if (main || !finalAccept) finalAccept = cc.policyBy
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
  const index = cc.index
  if (index) return runClassified(s, cc, index, depth)
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]
    const m = r.test(s, r.fallbacks)
    if (m === NO) continue
    const out = applyRule(s, r, m, depth)
    if (out !== NEXT) return out
  }
  return NEXT
}

/**
 * A classified chain: the candidates a word (32 rules) at a time, lowest first; a candidate the
 * classifier decides is tested for its residual conditions only, any other in full.
 */
function runClassified(s: State, cc: CompiledChain, index: ChainIndex, depth: number): number {
  const rules = cc.rules
  const words = index.words
  const row = keyedRow(index, s.combo, s.proto, s.ctx)
  if (row.first === row.end) return NEXT
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
  const o0 = offsetOf(d0, words, s.srcIdx, s.srcSlot)
  const o1 = offsetOf(d1, words, s.dstIdx, s.dstSlot)
  const o2 = offsetOf(d2, words, s.sport, s.sportSlot)
  const o3 = offsetOf(d3, words, s.dport, s.dportSlot)
  for (let w = row.first; w < row.end; w++) {
    let bits = cand[w] & r0[o0 + w] & r1[o1 + w] & r2[o2 + w] & r3[o3 + w]
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
const ALL = new Int32Array(INDEX_MAX_RULES >>> 5).fill(-1)
/** No rule decided by the classifier. */
const NONE = new Int32Array(INDEX_MAX_RULES >>> 5)

/** A range field's rows for a packet's value: -1 no value (the `none` row), -2 not indexed. */
function rowsOf(d: RangeDim | undefined, v: number): Int32Array {
  if (!d || v === -2) return ALL
  return v === -1 ? d.none : d.bits
}

/** Where the row for value v, in the ruleset's elementary interval g, starts in a field's rows. */
function offsetOf(d: RangeDim | undefined, words: number, v: number, g: number): number {
  if (!d || v < 0) return 0
  const offsets = d.offsets
  return offsets !== undefined ? offsets[g] : slot(d.starts, v) * words
}

/** The rewritten destination's elementary intervals (only classified rulesets read them). */
function placeDestination(s: State): void {
  const f = s.fields
  if (!f.length) return
  s.dstSlot = placed(f[1], s.dstIdx)
  s.dportSlot = placed(f[3], s.dport)
}

/** A value's elementary interval in a field (0 where no chain reads it, or no value). */
function placed(f: Field | undefined, v: number): number {
  return f !== undefined && v >= 0 ? fieldSlot(f, v) : 0
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
  let byOif = c.combos.get(iif)
  if (!byOif) {
    byOif = new Map()
    c.combos.set(iif, byOif)
  }
  let numbers = byOif.get(oif)
  if (!numbers) {
    numbers = new Int32Array(8 * 64)
    byOif.set(oif, numbers)
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
  c.combos.clear()
  c.comboCount = 0
  for (const index of c.indexes) index.rows = []
  return comboNumber(c, proto, ct, iif, oif)
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
        placeDestination(s)
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
