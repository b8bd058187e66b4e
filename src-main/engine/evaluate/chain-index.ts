/**
 * A long chain's classifier (the fast path's, compile-ruleset.ts): for each packet, the rules
 * whose conditions on the header fields can hold, as bit sets, lowest rule first; and, for each
 * of them, whether those conditions certainly hold, so that only the rest of the rule (its
 * residual conditions: TCP flags, ICMP types, marks ...) is left to test.
 *
 * Source and destination address and both ports are ranges of numbers: the value line is cut at
 * every rule's bounds into elementary intervals, each holding the bit set of the rules whose
 * conditions on that field hold there (negations and repeated conditions included). Protocol,
 * conntrack state and the interfaces take few values: the bit set for each combination a packet
 * brings is computed on first use and kept. A rule's bit is clear only where one of its
 * conditions fails as matchOne decides it, so skipping it changes nothing; a rule without effect
 * on the walk (log, counter) is never a candidate.
 */
import type { Match, Rule } from '../rulesets/model'
import { interfaceMatches, type MatchContext } from './match-rule'
import { complement, intersect, merge, prefixRange, slot, type Intervals } from './intervals'

/**
 * One range field of the index: elementary intervals and their rows of candidate bits, kept by
 * columns: word w of every row side by side, so that the first words, which most packets read
 * alone, sit together in a few lines of memory.
 */
export interface RangeDim {
  starts: Float64Array
  /**
   * Word w of row k at w × stride + k: the rules whose conditions on this field can hold in
   * interval k. Row `starts.length` is the row for a packet without a value here (IPv6
   * addresses, no ports).
   */
  bits: Int32Array
  /** starts.length + 1: the distance between one word of a row and the next. */
  stride: number
  /**
   * By the ruleset's elementary interval of this field (field-slots.ts), the chain's interval
   * holding it; without it (too large to keep), the interval is searched for in `starts`.
   */
  offsets: Int32Array | undefined
}

/** The rows of one combination of protocol, conntrack state and interfaces. */
export interface KeyedRow {
  /** The rules whose conditions on these fields hold. */
  candidates: Int32Array
  /** The words holding candidates: from `first` to before `end` (none when equal). */
  first: number
  end: number
  /** Those whose indexed conditions the index decides (the interfaces known where they are named). */
  exact: Int32Array
}

type InterfaceMatch = Extract<Match, { kind: 'iif' | 'oif' }>

/** The keyed (few-valued) conditions of one rule. */
interface KeyedConditions {
  /** No effect on the walk whether it matches or not: never a candidate. */
  inert: boolean
  protos: Extract<Match, { kind: 'proto' }>[]
  states: Extract<Match, { kind: 'ct-state' }>[]
  iif: InterfaceMatch[]
  oif: InterfaceMatch[]
}

/** A chain's classifier. */
export interface ChainIndex {
  /** 32-bit words per row. */
  words: number
  /** Source, destination, source port, destination port: undefined where not indexed. */
  dims: (RangeDim | undefined)[]
  keyed: KeyedConditions[]
  /** Rows by combination number (the ruleset numbers the combinations it meets), filled on first use. */
  rows: (KeyedRow | undefined)[]
}

/** A packet's conntrack state and interfaces (its context, as the walk keeps it). */
export type KeyedValues = Pick<MatchContext, 'ct' | 'iif' | 'oif'>

const ADDRESS_MAX = 0xffffffff
const PORT_MAX = 65535
/**
 * An address condition with more prefixes than this (a large set) is not cut into the rows: every
 * chain naming it would hold its bounds in each row and each packet search them. The rule's
 * test searches the set's own intervals, when the rule is a candidate.
 */
const MAX_CUT_PREFIXES = 64
/** A range field is indexed when at least one rule in this many names it. */
const MIN_SHARE = 8
/** The most 32-bit words one range field may hold (16 MB). */
const MAX_WORDS_PER_DIM = 1 << 22

/**
 * Builds the classifier of a chain's rules, or undefined when no field is worth indexing; `inert`
 * says which rules cannot change the walk. Returns with it, for each rule, the conditions the
 * index does not decide (to be tested when the rule is a candidate).
 */
export function buildChainIndex(
  rules: Rule[],
  inert: (rule: Rule) => boolean
): { index: ChainIndex; residual: Match[][] } {
  const words = (rules.length + 31) >>> 5
  const dims = [0, 1, 2, 3].map((which) => {
    const sets = rules.map((r) => allowed(r, which))
    // A field few rules name prunes little for the memory a packet reads: left to the tests.
    const named = sets.filter((s) => s !== undefined).length
    return named * MIN_SHARE < rules.length ? undefined : buildDim(which, sets, words)
  })
  const built = dims.map((d) => d !== undefined)
  const keyed = rules.map((r): KeyedConditions => ({
    inert: inert(r),
    protos: r.matches.filter((m) => m.kind === 'proto'),
    states: r.matches.filter((m) => m.kind === 'ct-state'),
    iif: r.matches.filter((m): m is InterfaceMatch => m.kind === 'iif'),
    oif: r.matches.filter((m): m is InterfaceMatch => m.kind === 'oif')
  }))
  const residual = rules.map((r) => r.matches.filter((m) => !decidedByIndex(m, built)))
  return { index: { words, dims, keyed, rows: [] }, residual }
}

/** Returns the rows for a packet's keyed values, numbered `combo` (computed once per combination). */
export function keyedRow(
  index: ChainIndex,
  combo: number,
  proto: number,
  v: KeyedValues
): KeyedRow {
  const rows = index.rows
  let row = rows[combo]
  if (!row) {
    // Grown a slot at a time, the array keeps its fast elements.
    while (rows.length <= combo) rows.push(undefined)
    row = computeKeyedRow(index, proto, v)
    rows[combo] = row
  }
  return row
}

/** Whether the index alone decides a condition (for an IPv4 packet, interfaces known). */
function decidedByIndex(m: Match, built: boolean[]): boolean {
  switch (m.kind) {
    case 'saddr':
      return built[0] && m.cidrs.length <= MAX_CUT_PREFIXES
    case 'daddr':
      return built[1] && m.cidrs.length <= MAX_CUT_PREFIXES
    case 'saddr-range':
      return built[0] && v4Range(m) !== undefined
    case 'daddr-range':
      return built[1] && v4Range(m) !== undefined
    case 'sport':
      return built[2]
    case 'dport':
      return built[3]
    case 'ct-state':
      return !m.nat
    case 'proto':
    case 'iif':
    case 'oif':
      return true
    default:
      return false
  }
}

/** A rule's values on one range field where its conditions there can hold; undefined: any. */
function allowed(rule: Rule, which: number): Allowed | undefined {
  let out: Allowed | undefined
  for (const m of rule.matches) {
    const c = condition(m, which)
    if (c) out = out ? { set: intersect(out.set, c.set), none: out.none && c.none } : c
  }
  return out
}

/** Where a condition on a range field holds: its values, and whether it may hold without one. */
interface Allowed {
  set: Intervals
  none: boolean
}

function condition(m: Match, which: number): Allowed | undefined {
  const address = which === 0 ? 'saddr' : which === 1 ? 'daddr' : undefined
  const port = which === 2 ? 'sport' : which === 3 ? 'dport' : undefined
  const negate = 'negate' in m && m.negate
  let set: Intervals
  let none: boolean
  if (address && m.kind === address) {
    if (m.cidrs.length > MAX_CUT_PREFIXES) return undefined
    set = merge(m.cidrs.filter((c) => c.version === 4).map(prefixRange))
    // An IPv6 packet is tested, never ruled out here, unless the condition holds IPv4 only.
    none = negate || m.cidrs.some((c) => c.version === 6)
  } else if (address && m.kind === `${address}-range`) {
    const r = v4Range(m)
    if (!r) return undefined
    set = [r]
    // Another family's address is outside the range (matchOne): negated, the condition holds.
    none = negate
  } else if (port && m.kind === port) {
    set = merge(
      m.ranges.map(([lo, hi]): [number, number] => [Math.max(0, lo), Math.min(PORT_MAX, hi)])
    )
    // No port: the condition fails, and holds negated (matchOne negates its "no").
    none = negate
  } else return undefined
  return { set: negate ? complement(set, which < 2 ? ADDRESS_MAX : PORT_MAX) : set, none }
}

/** An IPv4 address range whose words compare as numbers (compareAddress compares them as stored). */
function v4Range(m: Match): [number, number] | undefined {
  if ((m.kind !== 'saddr-range' && m.kind !== 'daddr-range') || m.from.version !== 4)
    return undefined
  if (m.to.version !== 4) return undefined
  const [lo, hi] = [m.from.words[0], m.to.words[0]]
  return lo === lo >>> 0 && hi === hi >>> 0 ? [lo, hi] : undefined
}

function buildDim(
  which: number,
  sets: (Allowed | undefined)[],
  words: number
): RangeDim | undefined {
  const points = new Set<number>([0])
  for (const s of sets) for (const [lo, hi] of s?.set ?? []) points.add(lo).add(hi + 1)
  const max = which < 2 ? ADDRESS_MAX : PORT_MAX
  const starts = Float64Array.from([...points].filter((p) => p <= max).sort((x, y) => x - y))
  const n = starts.length
  const stride = n + 1
  if (stride * words > MAX_WORDS_PER_DIM) return undefined
  const bits = new Int32Array(stride * words)
  sets.forEach((s, i) => {
    const column = (i >>> 5) * stride
    const bit = 1 << (i & 31)
    if (!s) {
      // Unconstrained here: a candidate in every row, the `none` row included.
      for (let k = 0; k <= n; k++) bits[column + k] |= bit
      return
    }
    if (s.none) bits[column + n] |= bit
    for (const [lo, hi] of s.set)
      for (let k = slot(starts, lo); k < n && starts[k] <= hi; k++) bits[column + k] |= bit
  })
  return { starts, bits, stride, offsets: undefined }
}

/** The candidate and exact rows of one combination of keyed values. */
function computeKeyedRow(index: ChainIndex, proto: number, v: KeyedValues): KeyedRow {
  const candidates = new Int32Array(index.words)
  const exact = new Int32Array(index.words)
  index.keyed.forEach((k, i) => {
    if (k.inert) return
    const holds =
      k.protos.every((m) => m.protos.includes(proto) !== m.negate) &&
      k.states.every((m) => m.nat !== undefined || m.states.includes(v.ct) !== m.negate) &&
      k.iif.every((m) => interfaceHolds(m, v.iif)) &&
      k.oif.every((m) => interfaceHolds(m, v.oif))
    if (!holds) return
    candidates[i >>> 5] |= 1 << (i & 31)
    // An interface condition on an unknown interface is left to the rule's full test.
    const known =
      (v.iif !== undefined || k.iif.length === 0) && (v.oif !== undefined || k.oif.length === 0)
    if (known) exact[i >>> 5] |= 1 << (i & 31)
  })
  const first = candidates.findIndex((w) => w !== 0)
  const end = first < 0 ? 0 : candidates.findLastIndex((w) => w !== 0) + 1
  return { candidates, exact, first: Math.max(first, 0), end }
}

/** An interface condition on a known name; an unknown name may match (the test decides). */
function interfaceHolds(
  m: { names: string[]; negate: boolean },
  name: string | undefined
): boolean {
  if (name === undefined) return true
  return m.names.some((n) => interfaceMatches(n, name)) !== m.negate
}
