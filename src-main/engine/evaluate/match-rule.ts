import {
  ADDR_TYPES,
  type AddrType,
  type Cidr,
  type CtState,
  type IpSet,
  type IpSetMember,
  type Match
} from '../rulesets/model'
import { compareAddress, inCidr } from '../rulesets/parse-address'
import { cidrMembership } from './intervals'
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
  /** The TTL / hop limit at this hook (a forwarded packet's is one less after routing). */
  ttl?: number
  /** The packet's mark and its connection's, as rules so far left them. */
  mark?: number
  ctMark?: number
  /** 'none': the packet has no local socket (it is being forwarded); owner matches are decided. */
  socket?: 'none'
  /** The packet has no Ethernet header to read (it was made on this host). */
  noMac?: boolean
  /**
   * The host's own addresses (a prefix length, where given, places the subnet's broadcast
   * address): addrtype and fib type decide LOCAL from them. Without them LOCAL is undecidable.
   */
  local?: Cidr[]
  /** Take the sets traffic fills as empty (before anything was added to them). */
  emptySets?: boolean
}

/** Whether a rule matched; `uncertain` says which condition could not be decided. */
export interface MatchResult {
  matched: boolean
  /** The first condition that failed, in words. */
  failed?: string
  uncertain?: string
}

/** Prefix lists longer than this are searched as intervals rather than tested one by one. */
const LARGE_SET = 16

/** What would decide an undecidable condition. */
const HINT: Partial<Record<Match['kind'], string>> = {
  length: ' (the packet has no len=N)',
  ttl: ' (the packet has no ttl=N)',
  mark: ' (the packet has no mark=N)',
  'ct-mark': ' (the packet has no ctmark=N)',
  uid: ' (the packet has no uid=N)',
  gid: ' (the packet has no gid=N)',
  addrtype: " (the host's addresses are not known: --local ADDR,...)",
  'mac-source': ' (the packet has no mac=ADDR)',
  physdev: ' (the packet has no physin=PORT or physout=PORT: give none for a packet not bridged)'
}

export const PROTO_NUMBER = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 } as const
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
          : `${describe(m)}${HINT[m.kind] ?? ''}`
      continue
    }
    if (!r) return { matched: false, failed: needs(m) }
  }
  // A condition that could not be decided while the rest matched: the walk goes on as if the rule
  // did not match, and the verdict is marked uncertain because it may have been this rule's.
  return uncertain === undefined
    ? { matched: true }
    : { matched: false, failed: uncertain, uncertain }
}

/** Returns whether one condition holds for the packet, or 'unknown' when it cannot be decided. */
export function matchOne(m: Match, p: PacketSpec, ctx: MatchContext): boolean | 'unknown' {
  const apply = (v: boolean): boolean => ('negate' in m && m.negate ? !v : v)
  switch (m.kind) {
    case 'saddr':
    case 'daddr': {
      const addr = m.kind === 'saddr' ? ctx.src : ctx.dst
      // A large set (an nft blocklist) is searched; a few prefixes are tested in turn.
      if (m.cidrs.length > LARGE_SET) return apply(cidrMembership(m.cidrs)(addr))
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
    case 'length':
      return p.len === undefined ? 'unknown' : apply(inRanges(p.len, m.ranges))
    case 'ttl':
      return ctx.ttl === undefined ? 'unknown' : apply(inRanges(ctx.ttl, m.ranges))
    case 'mark':
    case 'ct-mark': {
      // Without a connection (untracked, invalid) a connmark or ct mark match never holds.
      if (m.kind === 'ct-mark' && (ctx.ct === 'untracked' || ctx.ct === 'invalid')) return false
      const mark = m.kind === 'mark' ? ctx.mark : ctx.ctMark
      return mark === undefined
        ? 'unknown'
        : apply(m.values.some((v) => (mark & m.mask) >>> 0 === v >>> 0))
    }
    case 'uid':
    case 'gid': {
      if (ctx.socket === 'none') return m.withoutSocket === 'negated' && m.negate
      const id = m.kind === 'uid' ? p.uid : p.gid
      return id === undefined ? 'unknown' : apply(inRanges(id, m.ranges))
    }
    case 'addrtype': {
      const r = addrTypeMatches(m, m.dir === 'src' ? ctx.src : ctx.dst, ctx.local)
      return r === 'unknown' ? r : apply(r)
    }
    case 'mac-source':
      // A packet made on this host has no Ethernet header: the match fails, negated or not.
      if (ctx.noMac) return false
      return p.srcMac === undefined ? 'unknown' : apply(m.macs.includes(p.srcMac))
    case 'physdev':
      return physdevMatches(m, p)
    case 'stateful': {
      // A dynamic set: a key the snapshot lists was in it; of any other nothing is known.
      if (m.listed) {
        if (ctx.emptySets) return m.listed.negate
        const hit = m.listed.match !== undefined && matchOne(m.listed.match, p, ctx) === true
        return hit ? !m.listed.negate : 'unknown'
      }
      // A limit, quota or recent list cannot be read from a snapshot, unless the caller asks what
      // happens under the limit ('match') or over it ('miss'). A match written for traffic over
      // its limit (`--hashlimit-above`, `--connlimit-above`, recent's `--hitcount`, nft `limit
      // rate over`, `ct count over`, `quota over`) holds over it, and not under it.
      if (ctx.stateful !== 'match' && ctx.stateful !== 'miss') return 'unknown'
      const over = OVER.test(m.text) !== m.text.startsWith('!')
      return (ctx.stateful === 'miss') === over
    }
    case 'unmodelled':
      return 'unknown'
  }
}

function inRanges(n: number, ranges: [number, number][]): boolean {
  return ranges.some(([lo, hi]) => n >= lo && n <= hi)
}

/** Whether an address's route type is among the match's types (before negation), or 'unknown'. */
function addrTypeMatches(
  m: Extract<Match, { kind: 'addrtype' }>,
  addr: Cidr,
  local: Cidr[] | undefined
): boolean | 'unknown' {
  const byDevice = m.iface !== undefined
  if (m.dialect === 'xt' && addr.version === 6) {
    // ip6tables (match_type6): every check the mask names must pass; LOCAL comes from a route
    // lookup, which ignores local routes when an interface limits it.
    const kind = v6Kind(addr)
    if (m.types.includes('multicast') && kind !== 'multicast') return false
    if (m.types.includes('unicast') && kind !== 'unicast') return false
    if (m.types.includes('unspec') && kind !== 'any') return false
    const looked = m.types.filter((t) => t === 'local' || t === 'anycast' || t === 'unreachable')
    if (looked.length === 0) return true
    if (looked.some((t) => t !== 'local')) return 'unknown'
    if (byDevice) return false
    const isLocal = isOwnAddress(addr, local)
    return isLocal === undefined ? 'unknown' : isLocal
  }
  const possible = possibleTypes(addr, local, byDevice)
  if (possible.every((t) => m.types.includes(t))) return true
  if (possible.some((t) => m.types.includes(t))) return 'unknown'
  return false
}

/** The route types an address can have on this host, as far as its addresses tell. */
function possibleTypes(addr: Cidr, local: Cidr[] | undefined, byDevice: boolean): AddrType[] {
  // A type the local table gives is the address's only where the lookup is not tied to a device
  // (the table does not say which device holds each address).
  const fromTable = (t: AddrType): AddrType[] => (byDevice ? [t, 'unicast'] : [t])
  if (addr.version === 6) {
    const own = isOwnAddress(addr, local)
    if (own === true && !byDevice) return ['local']
    if (own === false) return ADDR_TYPES.filter((t) => t !== 'local')
    return ADDR_TYPES
  }
  const w = addr.words[0] >>> 0
  if (w >>> 24 === 0 || w === 0xffffffff) return ['broadcast']
  if (w >>> 28 === 14) return ['multicast']
  if (w >>> 24 === 127) return fromTable('local')
  if (!local) return ['unicast', 'local', 'broadcast', 'anycast']
  const mine = local.filter((l) => l.version === 4)
  if (mine.some((l) => l.words[0] >>> 0 === w)) return fromTable('local')
  for (const l of mine) {
    if (l.bits >= 31) continue
    const hostBits = (2 ** (32 - l.bits) - 1) >>> 0
    const net = (l.words[0] & ~hostBits) >>> 0
    if (w === (net | hostBits) >>> 0) return fromTable('broadcast')
    // Older kernels also keep a broadcast route for the subnet's own address.
    if (w === net) return ['broadcast', 'unicast']
  }
  return ['unicast']
}

/** Whether the address is one of the host's own (loopback always is); undefined when unknown. */
export function isOwnAddress(addr: Cidr, local: Cidr[] | undefined): boolean | undefined {
  if (isLoopback(addr)) return true
  if (!local) return undefined
  return local.some(
    (l) => l.version === addr.version && l.words.every((w, i) => w >>> 0 === addr.words[i] >>> 0)
  )
}

/** What the kernel's ipv6_addr_type says of an address, in the classes addrtype tests. */
function v6Kind(a: Cidr): 'any' | 'multicast' | 'unicast' | 'other' {
  const [w0, w1, w2, w3] = a.words.map((w) => w >>> 0)
  if (w0 >>> 24 === 0xff) return 'multicast'
  if (w0 === 0 && w1 === 0) {
    if (w2 === 0 && w3 === 0) return 'any'
    if (w2 === 0 && w3 === 1) return 'unicast'
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) are not unicast to it.
    if (w2 === 0 || w2 === 0xffff) return 'other'
  }
  return 'unicast'
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
  // The most specific member holding the packet decides: a `nomatch` one is a hole in the set.
  let best: IpSetMember | undefined
  let bestBits = -1
  const holes = set.members.some((x) => x.nomatch)
  for (const m of set.members) {
    if (!holds(m)) continue
    if (!holes) return true
    const bits = m.cidrs.reduce((n, c) => n + c.bits, 0)
    if (bits > bestBits) {
      best = m
      bestBits = bits
    }
  }
  return best !== undefined && !best.nomatch

  function holds(m: IpSetMember): boolean {
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
  }
}

/** iptables' and nft's interface wildcards: a trailing + (iptables) or * (nft) matches any suffix. */
export function interfaceMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith('+') || pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1))
  return pattern === name
}

export function isLoopback(a: Cidr): boolean {
  if (a.version === 4) return a.words[0] >>> 24 === 127
  return a.words[0] === 0 && a.words[1] === 0 && a.words[2] === 0 && a.words[3] === 1
}

/**
 * Returns "needs CONDITION", the words of a failed condition: a traced walk gives them for every
 * rule it passes, and a condition's words depend on the condition alone, so each is made once.
 */
function needs(m: Match): string {
  let text = needsText.get(m)
  if (text === undefined) needsText.set(m, (text = `needs ${describe(m)}`))
  return text
}

/** A stateful match that holds over its limit, not under it. */
const OVER = /(?:--hashlimit-above|--connlimit-above|--hitcount|\bover)\b/

const needsText = new WeakMap<Match, string>()

function describe(m: Match): string {
  switch (m.kind) {
    case 'stateful':
      return `${m.name}: ${m.text} (depends on the rate or state at the time)`
    case 'unmodelled':
      return `${m.name}: ${m.text} (not modelled)`
    case 'ipset':
      return `${m.negate ? 'not ' : ''}in ipset ${m.name} (${m.dirs.join(',')})`
    case 'saddr':
    case 'daddr':
      return `${m.negate ? 'not ' : ''}${m.kind === 'saddr' ? 'source' : 'destination'} ${listed(m.cidrs, cidrText)}`
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
    case 'length':
    case 'ttl':
      return `${m.negate ? 'not ' : ''}${m.kind === 'length' ? 'IP length' : 'TTL'} ${m.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`
    case 'mark':
    case 'ct-mark':
      return `${m.negate ? 'not ' : ''}${m.kind === 'mark' ? 'mark' : 'connection mark'} ${m.values.map((v) => `0x${(v >>> 0).toString(16)}`).join(',')}${m.mask >>> 0 === 0xffffffff ? '' : `/0x${(m.mask >>> 0).toString(16)}`}`
    case 'uid':
    case 'gid':
      return `${m.negate ? 'not ' : ''}socket owned by ${m.kind} ${m.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`
    case 'addrtype':
      return `${m.negate ? 'not ' : ''}${m.dir === 'src' ? 'source' : 'destination'} address type ${m.types.join(',')}${m.iface ? ` on the ${m.iface}put interface` : ''}`
    case 'mac-source':
      return `${m.negate ? 'not ' : ''}MAC source ${m.macs.join(',')}`
    case 'physdev': {
      const not = (t: { negate: boolean }): string => (t.negate ? 'not ' : '')
      const parts: string[] = []
      if (m.isBridged) parts.push(`${not(m.isBridged)}bridged`)
      if (m.isIn) parts.push(`${not(m.isIn)}in by a bridge port`)
      if (m.isOut) parts.push(`${not(m.isOut)}out by a bridge port`)
      if (m.physIn) parts.push(`${not(m.physIn)}in by bridge port ${m.physIn.name}`)
      if (m.physOut) parts.push(`${not(m.physOut)}out by bridge port ${m.physOut.name}`)
      return parts.join(', ')
    }
  }
}

/**
 * -m physdev as xt_physdev.c decides it. A packet that did not cross a bridge fails every test
 * not negated. A bridged one: is-bridged and is-out need its output port, is-in its input
 * port; --physdev-in holds when it has no input port (the kernel skips the name), while
 * --physdev-out fails when it has no output port.
 */
function physdevMatches(
  m: Extract<Match, { kind: 'physdev' }>,
  p: PacketSpec
): boolean | 'unknown' {
  if (p.physIn === undefined || p.physOut === undefined) return 'unknown'
  const indev = p.physIn
  const outdev = p.physOut
  if (indev === null && outdev === null) {
    const tests = [m.isBridged, m.isIn, m.isOut, m.physIn, m.physOut]
    return tests.every((t) => t === undefined || t.negate)
  }
  if (m.isBridged && (outdev !== null) === m.isBridged.negate) return false
  if (m.isIn && (indev !== null) === m.isIn.negate) return false
  if (m.isOut && (outdev !== null) === m.isOut.negate) return false
  if (m.physIn && indev !== null && interfaceMatches(m.physIn.name, indev) === m.physIn.negate)
    return false
  if (!m.physOut) return true
  if (outdev === null) return false
  return interfaceMatches(m.physOut.name, outdev) !== m.physOut.negate
}

/** Prefixes named in a description at most; a longer list (a blocklist set) is counted. */
const LISTED = 8

/** Returns the first LISTED items in words, and how many more there are. */
function listed<T>(items: T[], text: (item: T) => string): string {
  const shown = items.slice(0, LISTED).map(text).join(',')
  return items.length > LISTED ? `${shown} and ${items.length - LISTED} more` : shown
}

function cidrText(c: Cidr): string {
  if (c.version === 4) {
    const w = c.words[0]
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${c.bits}`
  }
  return `${c.words.map((w) => (w >>> 0).toString(16)).join(':')}/${c.bits}`
}
