/**
 * Rules' conditions compiled for the fast path (compile-ruleset.ts): a rule's conditions as one
 * generated function (compile-rule-source.ts), a chain's as one function resuming after the rule
 * that last applied, and the closures those functions call for the conditions they do not write
 * out, each answering as matchOne does: NO, YES, or UNKNOWN when it cannot be decided.
 */
import type { Cidr, Match } from '../rulesets/model'
import { compareAddress } from '../rulesets/parse-address'
import {
  chainTestSource,
  ruleTestSource,
  type Fallback,
  type FastPacket
} from './compile-rule-source'
import { cidrMembership, inIntervals, merge, prefixRange } from './intervals'
import {
  interfaceMatches,
  isLoopback,
  matchOne,
  PROTO_NUMBER,
  type MatchContext
} from './match-rule'
import type { PacketSpec } from './packet-spec'

export const NO = 0
export const YES = 1
export const UNKNOWN = 2

/** A rule's conditions over the packet's state, calling F for those not written out. */
export type RuleTest = (s: FastPacket, F: Fallback[]) => number
/** A chain's rules from `from` on: the first whose conditions do not fail, as 2 × index (+ 1 undecided); -1 for none. */
export type ChainTest = (s: FastPacket, F: Fallback[], from: number) => number

/** A generated test and the closures it calls. */
export interface CompiledTest<T> {
  test: T
  fallbacks: Fallback[]
}

type Test = (p: PacketSpec, ctx: MatchContext) => number

/** Returns a compiler of tests for one ruleset: rules with the same conditions share one function. */
export function testCompiler(): {
  rule: (matches: Match[]) => CompiledTest<RuleTest>
  chain: (rules: (Match[] | undefined)[]) => CompiledTest<ChainTest>
} {
  const cache = new Map<string, RuleTest>()
  return {
    rule: (matches) => {
      const fallbacks: Fallback[] = []
      const body = ruleTestSource(sortedMatches(matches), fallback, v4Ranges, fallbacks)
      let test = cache.get(body)
      if (!test) {
        test = new Function('s', 'F', body) as RuleTest
        cache.set(body, test)
      }
      return { test, fallbacks }
    },
    chain: (rules) => {
      const fallbacks: Fallback[] = []
      const sorted = rules.map((m) => m && sortedMatches(m))
      const body = chainTestSource(sorted, fallback, v4Ranges, fallbacks)
      return { test: new Function('s', 'F', 'from', body) as ChainTest, fallbacks }
    }
  }
}

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

/** A condition the generated test calls: compileMatch's closure on the packet's state. */
function fallback(m: Match): Fallback {
  const yes = 'negate' in m && m.negate ? NO : YES
  const no = yes === YES ? NO : YES
  if (m.kind === 'saddr' || m.kind === 'daddr') {
    const inList = cidrMembership(m.cidrs)
    return m.kind === 'saddr'
      ? (s) => (inList(s.ctx.src) ? yes : no)
      : (s) => (inList(s.ctx.dst) ? yes : no)
  }
  if (m.kind === 'sport' || m.kind === 'dport') {
    // The packet's state holds the ports as numbers, -1 for none: the condition fails, and holds
    // negated (matchOne negates its "no").
    const inRanges = rangeList(m.ranges)
    return m.kind === 'sport'
      ? (s) => (s.sport >= 0 && inRanges(s.sport) ? yes : no)
      : (s) => (s.dport >= 0 && inRanges(s.dport) ? yes : no)
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
      const inList = cidrMembership(m.cidrs)
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

/** Lists of more ranges than this are tested through a bitmap of the numbers 0-65535 (8 kB). */
const BITMAP_MIN_RANGES = 16
/** Tests of long lists already made, per list (the rules naming one nft set share its list). */
const bitmapTests = new WeakMap<[number, number][], (n: number) => boolean>()

/**
 * Whether a port or number is in any of the ranges, as a closure: a few ranges compared in turn,
 * more searched for, a long list (a port set) read from a bitmap, one read per test.
 */
function rangeList(ranges: [number, number][]): (n: number) => boolean {
  if (ranges.length <= 4) {
    const flat = ranges.flat()
    return (n) => {
      for (let i = 0; i < flat.length; i += 2) if (n >= flat[i] && n <= flat[i + 1]) return true
      return false
    }
  }
  if (ranges.length <= BITMAP_MIN_RANGES) return inIntervals(ranges)
  const known = bitmapTests.get(ranges)
  if (known) return known
  const bits = new Int32Array(65536 >>> 5)
  for (const [lo, hi] of ranges)
    for (let n = Math.max(0, Math.ceil(lo)); n <= Math.min(65535, hi); n++)
      bits[n >>> 5] |= 1 << (n & 31)
  // A number the bitmap does not cover (no port: ports are 0-65535) is searched for.
  const search = inIntervals(ranges)
  const test = (n: number): boolean =>
    n === (n & 0xffff) ? (bits[n >>> 5] & (1 << (n & 31))) !== 0 : search(n)
  bitmapTests.set(ranges, test)
  return test
}

/** Merged ranges already made, per list of prefixes (the rules naming one nft set share it). */
const mergedRanges = new WeakMap<Cidr[], [number, number][]>()

/** An address condition's IPv4 prefixes as merged ranges (made once per list). */
function v4Ranges(m: Match): [number, number][] | undefined {
  if (m.kind !== 'saddr' && m.kind !== 'daddr') return undefined
  let ranges = mergedRanges.get(m.cidrs)
  if (!ranges) {
    ranges = merge(m.cidrs.filter((c) => c.version === 4).map(prefixRange))
    mergedRanges.set(m.cidrs, ranges)
  }
  return ranges
}
