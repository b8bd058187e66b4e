import type { Cidr, CtState, IpSet, Match } from '../rulesets/model'
import { compareAddress, inCidr } from '../rulesets/parse-address'
import type { PacketSpec } from './packet-spec'

/** What the evaluator knows of the packet's surroundings. */
export interface MatchContext {
  ct: CtState
  iif?: string
  oif?: string
  /** The packet's current addresses and ports (NAT may have rewritten them). */
  src: Cidr
  dst: Cidr
  sport?: number
  dport?: number
  /** ipsets from an `ipset save` snapshot, when one was loaded. */
  ipsets?: Map<string, IpSet>
  /** Set once a NAT rule of this walk has translated the packet. */
  dnatted?: boolean
  snatted?: boolean
  /** How limit, hashlimit, recent, quota and connlimit matches are taken (default: undecidable). */
  stateful?: 'unknown' | 'match' | 'miss'
}

/** Whether a rule matched; `uncertain` says which condition could not be decided. */
export interface MatchResult {
  matched: boolean
  /** The first condition that failed, in words. */
  failed?: string
  uncertain?: string
}

const PROTO_NUMBER = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 } as const
const PROTO_NAME: Record<number, string> = {
  1: 'icmp',
  6: 'tcp',
  17: 'udp',
  58: 'icmpv6',
  132: 'sctp'
}

/** Returns whether every condition of a rule holds for the packet. */
export function matchRule(matches: Match[], p: PacketSpec, ctx: MatchContext): MatchResult {
  let uncertain: string | undefined
  for (const m of matches) {
    const r = matchOne(m, p, ctx)
    if (r === 'unknown') {
      uncertain ??=
        m.kind === 'ipset' && !ctx.ipsets?.has(m.name)
          ? `ipset ${m.name} is in no snapshot loaded (add its \`ipset save\` output)`
          : describe(m)
      continue
    }
    if (!r) return { matched: false, failed: `needs ${describe(m)}` }
  }
  // A condition that could not be decided while the rest matched: the walk goes on as if the rule
  // did not match, and the verdict is marked uncertain because it may have been this rule's.
  return uncertain === undefined
    ? { matched: true }
    : { matched: false, failed: uncertain, uncertain }
}

function matchOne(m: Match, p: PacketSpec, ctx: MatchContext): boolean | 'unknown' {
  const apply = (v: boolean): boolean => ('negate' in m && m.negate ? !v : v)
  switch (m.kind) {
    case 'saddr':
    case 'daddr': {
      const addr = m.kind === 'saddr' ? ctx.src : ctx.dst
      return apply(m.cidrs.some((c) => inCidr(addr, c)))
    }
    case 'saddr-range':
    case 'daddr-range': {
      const addr = m.kind === 'saddr-range' ? ctx.src : ctx.dst
      if (addr.version !== m.from.version) return apply(false)
      return apply(compareAddress(addr, m.from) >= 0 && compareAddress(addr, m.to) <= 0)
    }
    case 'iif':
    case 'oif': {
      const name = m.kind === 'iif' ? ctx.iif : ctx.oif
      if (name === undefined) {
        // Unknown interface: loopback is decidable from the addresses, anything else is not.
        if (m.names.every((n) => n === 'lo'))
          return apply(isLoopback(ctx.src) || isLoopback(ctx.dst))
        return 'unknown'
      }
      return apply(m.names.some((n) => interfaceMatches(n, name)))
    }
    case 'proto':
      return apply(m.protos.includes(PROTO_NUMBER[p.proto]))
    case 'sport':
    case 'dport': {
      const port = m.kind === 'sport' ? ctx.sport : ctx.dport
      if (port === undefined) return apply(false)
      return apply(m.ranges.some(([lo, hi]) => port >= lo && port <= hi))
    }
    case 'tcp-flags':
      if (p.tcpFlags === undefined) return apply(false)
      return apply((p.tcpFlags & m.mask) === m.set)
    case 'icmp-type':
      if (p.icmpType === undefined || (p.proto === 'icmpv6') !== m.v6) return apply(false)
      return apply(p.icmpType === m.type && (m.code === undefined || p.icmpCode === m.code))
    case 'ct-state': {
      if (m.states.includes(ctx.ct)) return apply(true)
      if (!m.nat) return apply(false)
      // DNAT/SNAT: known for a connection's first packet (this walk translated it or not),
      // unknown for a later one unless the walk saw the translation.
      if ((m.nat.includes('dnat') && ctx.dnatted) || (m.nat.includes('snat') && ctx.snatted))
        return apply(true)
      return ctx.ct === 'new' ? apply(false) : 'unknown'
    }
    case 'ipset': {
      const set = ctx.ipsets?.get(m.name)
      if (!set) return 'unknown'
      return apply(inIpset(set, m.dirs, p, ctx, ctx.ipsets!, 0))
    }
    case 'stateful':
      // A limit, quota or recent list cannot be read from a snapshot, unless the caller asks what
      // happens under the limit ('match') or over it ('miss').
      return ctx.stateful === 'match' ? true : ctx.stateful === 'miss' ? false : 'unknown'
    case 'unmodelled':
      return 'unknown'
  }
}

/** Returns whether the packet's fields (by direction, one per set dimension) make a member of the set. */
function inIpset(
  set: IpSet,
  dirs: ('src' | 'dst')[],
  p: PacketSpec,
  ctx: MatchContext,
  all: Map<string, IpSet>,
  depth: number
): boolean {
  if (set.method === 'list') {
    return (
      depth < 8 &&
      set.members.some((m) =>
        m.sets.some((n) => {
          const s = all.get(n)
          return s !== undefined && inIpset(s, dirs, p, ctx, all, depth + 1)
        })
      )
    )
  }
  return set.members.some((m) => {
    let cidr = 0
    let port = 0
    return set.dims.every((dim, d) => {
      const dir = dirs[d] ?? dirs[dirs.length - 1]
      if (dim === 'ip' || dim === 'net') {
        const c = m.cidrs[cidr++]
        return c !== undefined && inCidr(dir === 'src' ? ctx.src : ctx.dst, c)
      }
      const want = m.ports[port++]
      const have = dir === 'src' ? ctx.sport : ctx.dport
      if (!want || have === undefined) return false
      if (want.proto !== undefined && want.proto !== PROTO_NUMBER[p.proto]) return false
      return have >= want.port[0] && have <= want.port[1]
    })
  })
}

/** iptables' and nft's interface wildcards: a trailing + (iptables) or * (nft) matches any suffix. */
export function interfaceMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith('+') || pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1))
  return pattern === name
}

function isLoopback(a: Cidr): boolean {
  if (a.version === 4) return a.words[0] >>> 24 === 127
  return a.words[0] === 0 && a.words[1] === 0 && a.words[2] === 0 && a.words[3] === 1
}

function describe(m: Match): string {
  switch (m.kind) {
    case 'stateful':
    case 'unmodelled':
      return `${m.name}: ${m.text} (not modelled)`
    case 'ipset':
      return `${m.negate ? 'not ' : ''}in ipset ${m.name} (${m.dirs.join(',')})`
    case 'saddr':
    case 'daddr':
      return `${m.negate ? 'not ' : ''}${m.kind === 'saddr' ? 'source' : 'destination'} ${m.cidrs.map(cidrText).join(',')}`
    case 'iif':
    case 'oif':
      return `${m.negate ? 'not ' : ''}${m.kind === 'iif' ? 'in' : 'out'} interface ${m.names.join(',')}`
    case 'proto':
      return `${m.negate ? 'not ' : ''}protocol ${m.protos.map((n) => PROTO_NAME[n] ?? String(n)).join(',')}`
    case 'sport':
    case 'dport':
      return `${m.negate ? 'not ' : ''}${m.kind === 'sport' ? 'source' : 'destination'} port ${m.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`
    case 'tcp-flags':
      return `${m.negate ? 'not ' : ''}TCP flags ${m.set}/${m.mask}`
    case 'icmp-type':
      return `${m.negate ? 'not ' : ''}ICMP type ${m.type}${m.code !== undefined ? '/' + m.code : ''}`
    case 'ct-state':
      return `${m.negate ? 'not ' : ''}ct state ${[...m.states, ...(m.nat ?? [])].join(',')}`
    case 'saddr-range':
    case 'daddr-range':
      return `${m.negate ? 'not ' : ''}${m.kind === 'saddr-range' ? 'source' : 'destination'} range`
  }
}

function cidrText(c: Cidr): string {
  if (c.version === 4) {
    const w = c.words[0]
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${c.bits}`
  }
  return `${c.words.map((w) => (w >>> 0).toString(16)).join(':')}/${c.bits}`
}
