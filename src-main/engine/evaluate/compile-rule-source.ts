/**
 * One rule's conditions as one generated function (the fast path's, compile-ruleset.ts): the
 * common conditions (addresses, ports, protocols, interfaces, TCP flags, ICMP types, conntrack
 * states) written out with their constants inlined, read from the packet's fixed numeric shape
 * (FastPacket); the rarer ones call the closures they are given. The function answers as
 * matchOne does, folded over the conditions: NO when any fails, else UNKNOWN when any is
 * undecidable, else YES.
 *
 * Only numbers from parsed numeric fields are written into the source, and every string through
 * JSON.stringify.
 */
import type { Match } from '../rulesets/model'
import type { MatchContext } from './match-rule'
import type { PacketSpec } from './packet-spec'

/** A packet as the generated tests read it: one object shape, numbers where they can be. */
export interface FastPacket {
  p: PacketSpec
  ctx: MatchContext
  /** IPv4 source and destination as unsigned numbers; -1 for IPv6. */
  src4: number
  dst4: number
  /** Ports, -1 when the packet has none. */
  sport: number
  dport: number
  /** The protocol number (6, 17, 1, 58). */
  proto: number
  /** TCP flags, ICMP type and code, -1 when the packet has none. */
  flags: number
  icmpType: number
  icmpCode: number
}

/** A condition the generated code calls rather than writes out: matchOne's answer as 0, 1, 2. */
export type Fallback = (s: FastPacket) => number

/** Inclusive ranges written out as a test when there are this many or fewer. */
const INLINE_RANGES = 6

const num = (n: number): string => {
  if (!Number.isFinite(n)) throw new Error(`not a number in a compiled rule: ${n}`)
  return String(n)
}

/** `x` in any of the ranges, as an expression (ranges sorted and merged by the caller or not). */
function inRanges(x: string, ranges: [number, number][]): string {
  const parts = ranges
    .filter(([lo, hi]) => lo <= hi)
    .map(([lo, hi]) =>
      lo === hi ? `${x} === ${num(lo)}` : `(${x} >= ${num(lo)} && ${x} <= ${num(hi)})`
    )
  return parts.length ? `(${parts.join(' || ')})` : 'false'
}

/**
 * The body of `function (s, F)` testing the conditions in order: each either written out (a
 * boolean condition or a three-valued one) or a call of F[i], pushed onto `fallbacks` by
 * `fallback(match)`. Returns undefined when a condition cannot be written out and has no
 * fallback (never: every kind has one).
 */
export function ruleTestSource(
  matches: Match[],
  fallback: (m: Match) => Fallback,
  v4Ranges: (m: Match) => [number, number][] | undefined,
  fallbacks: Fallback[]
): string {
  return [
    'let u = 0',
    'let r = 0',
    ...ruleTestLines(matches, fallback, v4Ranges, fallbacks, 'return 0'),
    'return u === 1 ? 2 : 1'
  ].join('\n')
}

/**
 * A chain's rules (at most a few hundred) as the body of `function (s, F, from)`: the first rule
 * at or after `from` whose conditions do not fail, as 2 × its index (+ 1 when undecidable); -1
 * when none. A rule given as undefined is never returned (it cannot change the walk).
 */
export function chainTestSource(
  rules: (Match[] | undefined)[],
  fallback: (m: Match) => Fallback,
  v4Ranges: (m: Match) => [number, number][] | undefined,
  fallbacks: Fallback[]
): string {
  const lines = ['let u = 0', 'let r = 0', 'switch (from) {']
  rules.forEach((matches, i) => {
    lines.push(`case ${num(i)}:`)
    if (!matches) return
    lines.push(`L${num(i)}: {`, 'u = 0')
    lines.push(...ruleTestLines(matches, fallback, v4Ranges, fallbacks, `break L${num(i)}`))
    lines.push(`return ${num(2 * i)} + u`, '}')
  })
  lines.push('}', 'return -1')
  return lines.join('\n')
}

function ruleTestLines(
  matches: Match[],
  fallback: (m: Match) => Fallback,
  v4Ranges: (m: Match) => [number, number][] | undefined,
  fallbacks: Fallback[],
  fail: string
): string[] {
  const lines: string[] = []
  const call = (m: Match): string => {
    fallbacks.push(fallback(m))
    return `F[${fallbacks.length - 1}](s)`
  }
  /** A two-valued condition: the rule fails when it is false (true when negated). */
  const bool = (cond: string, negate: boolean): void => {
    lines.push(`if (${negate ? '' : '!'}(${cond})) ${fail}`)
  }
  /** A three-valued expression (0, 1, 2). */
  const tri = (expr: string): void => {
    lines.push(`r = ${expr}`, 'if (r === 0) ' + fail, 'if (r === 2) u = 1')
  }
  for (const m of matches) {
    const neg = 'negate' in m && m.negate === true
    switch (m.kind) {
      case 'saddr':
      case 'daddr': {
        const x = m.kind === 'saddr' ? 's.src4' : 's.dst4'
        const ranges = v4Ranges(m)
        if (ranges && ranges.length <= INLINE_RANGES) {
          const inl = inRanges(x, ranges)
          if (m.cidrs.some((c) => c.version === 6))
            // IPv6 packets: the whole condition (negation included) from the fallback.
            lines.push(`if (${x} >= 0 ? ${neg ? '' : '!'}${inl} : ${call(m)} === 0) ${fail}`)
          else bool(`${x} >= 0 && ${inl}`, neg)
        } else tri(call(m))
        break
      }
      case 'proto': {
        const known = m.protos.filter((n) => n === 6 || n === 17 || n === 1 || n === 58)
        bool(known.length ? known.map((n) => `s.proto === ${num(n)}`).join(' || ') : 'false', neg)
        break
      }
      case 'sport':
      case 'dport': {
        const x = m.kind === 'sport' ? 's.sport' : 's.dport'
        if (m.ranges.length <= INLINE_RANGES) {
          // No port: the condition fails, and holds negated (matchOne negates its "no").
          bool(`${x} >= 0 && ${inRanges(x, m.ranges)}`, neg)
        } else tri(call(m))
        break
      }
      case 'iif':
      case 'oif': {
        // An unknown interface is undecided, except for a condition on lo alone (the fallback
        // looks at the addresses); a name ending in + or * matches the names it begins.
        if (m.names.every((n) => n === 'lo')) {
          tri(call(m))
          break
        }
        const name = m.kind === 'iif' ? 's.ctx.iif' : 's.ctx.oif'
        const one = (n: string): string =>
          n.endsWith('+') || n.endsWith('*')
            ? `${name}.startsWith(${JSON.stringify(n.slice(0, -1))})`
            : `${name} === ${JSON.stringify(n)}`
        lines.push('if (' + name + ' === undefined) u = 1')
        lines.push(
          `else if (${neg ? '' : '!'}(${m.names.map(one).join(' || ') || 'false'})) ${fail}`
        )
        break
      }
      case 'tcp-flags':
        bool(`s.flags >= 0 && (s.flags & ${num(m.mask)}) === ${num(m.set)}`, neg)
        break
      case 'icmp-type':
        bool(
          `s.icmpType >= 0 && (s.proto === 58) === ${m.v6 ? 'true' : 'false'} && ` +
            `s.icmpType === ${num(m.type)}` +
            (m.code === undefined ? '' : ` && s.icmpCode === ${num(m.code)}`),
          neg
        )
        break
      case 'ct-state':
        if (m.nat) tri(call(m))
        else
          bool(
            m.states.map((x) => `s.ctx.ct === ${JSON.stringify(x)}`).join(' || ') || 'false',
            'negate' in m && m.negate === true
          )
        break
      default:
        tri(call(m))
    }
  }
  return lines
}
