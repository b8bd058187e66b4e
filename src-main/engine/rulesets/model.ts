/**
 * One model for every Linux firewall snapshot (iptables-save, nft): tables of
 * chains of rules, each rule kept with its line and its text exactly as written.
 */

import type { Problem } from '../../shared/problem'

export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev'
export type Hook =
  'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress'
export type CtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked'
/** Route types of an address (the kernel's RTN_* names, lower case), as addrtype and fib name them. */
export type AddrType =
  | 'unspec'
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat'
  | 'xresolve'
export const ADDR_TYPES: AddrType[] = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve'
]

/** Where a piece of the snapshot is written: line number and the line's text. */
export interface Source {
  line: number
  text: string
}

/** An address prefix; `bits` of `words` (4 words for IPv6, 1 for IPv4) are significant. */
export interface Cidr {
  version: 4 | 6
  words: number[]
  bits: number
}

/** What a rule tests, one condition per Match; all must hold. */
export type Match =
  | { kind: 'saddr' | 'daddr'; cidrs: Cidr[]; negate: boolean }
  | { kind: 'saddr-range' | 'daddr-range'; from: Cidr; to: Cidr; negate: boolean }
  | { kind: 'iif' | 'oif'; names: string[]; negate: boolean }
  | { kind: 'proto'; protos: number[]; negate: boolean }
  | { kind: 'sport' | 'dport'; ranges: [number, number][]; negate: boolean }
  | { kind: 'tcp-flags'; mask: number; set: number; negate: boolean }
  | { kind: 'icmp-type'; v6: boolean; type: number; code?: number; negate: boolean }
  /** `nat` holds iptables' virtual states DNAT and SNAT: the connection was translated. */
  | { kind: 'ct-state'; states: CtState[]; nat?: ('dnat' | 'snat')[]; negate: boolean }
  /** iptables -m set --match-set NAME src|dst[,...]: the packet's fields, in that order, in the ipset. */
  | { kind: 'ipset'; name: string; dirs: ('src' | 'dst')[]; negate: boolean }
  /** The IP total length (-m length, meta length) or TTL / hop limit (-m ttl, -m hl, ip ttl) in ranges. */
  | { kind: 'length' | 'ttl'; ranges: [number, number][]; negate: boolean }
  /** (mark & mask) is one of values: the packet's mark (-m mark, meta mark) or its connection's (-m connmark, ct mark). */
  | { kind: 'mark' | 'ct-mark'; values: number[]; mask: number; negate: boolean }
  /**
   * The user or group owning the local socket that sent the packet (-m owner, meta skuid/skgid).
   * Without a socket iptables' match holds only when negated; nft's never holds.
   */
  | {
      kind: 'uid' | 'gid'
      ranges: [number, number][]
      negate: boolean
      withoutSocket: 'negated' | 'never'
    }
  /**
   * The route type of the source or destination address (-m addrtype, fib saddr|daddr type):
   * one of `types`; `iface` limits the lookup to the packet's input or output interface.
   * ip6tables' addrtype requires every type given (the kernel's match_type6), the others any.
   */
  | {
      kind: 'addrtype'
      dir: 'src' | 'dst'
      types: AddrType[]
      negate: boolean
      iface?: 'in' | 'out'
      dialect: 'xt' | 'nft'
    }
  /** The Ethernet source address is one of macs (-m mac --mac-source, ether saddr), lower case. */
  | { kind: 'mac-source'; macs: string[]; negate: boolean }
  /**
   * The bridge ports of a packet that crossed a bridge (-m physdev, with br_netfilter): the
   * port it came in by and the one it leaves by (`+` ends a prefix), and whether it has each
   * and is bridged at all, every test negatable on its own (xt_physdev.c). A packet that is not
   * bridged fails every test not negated; `negate` is always false (the tests carry their own).
   */
  | {
      kind: 'physdev'
      physIn?: { name: string; negate: boolean }
      physOut?: { name: string; negate: boolean }
      isIn?: { negate: boolean }
      isOut?: { negate: boolean }
      isBridged?: { negate: boolean }
      negate: false
    }
  /** Matches whose outcome depends on state Verdict cannot see (limit, recent, ...): assumed to match. */
  | {
      kind: 'stateful'
      name: string
      text: string
      /**
       * A set that changes with traffic (nft `flags dynamic`/`timeout`, or filled by `add @set`):
       * the elements the snapshot lists, as a match, and whether the rule asks for keys not in
       * the set. A listed key was in the set then; any other may or may not have been.
       */
      listed?: { match?: Match; negate: boolean }
    }
  /** Read and kept, but not modelled: the rule's outcome is uncertain. */
  | { kind: 'unmodelled'; name: string; text: string }

/** What a rule does when it matches. */
export type Action =
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'reject'; with: string }
  | { kind: 'return' }
  | { kind: 'continue' }
  | { kind: 'jump' | 'goto'; chain: string }
  | { kind: 'log'; prefix?: string; group?: number; level?: string }
  | { kind: 'dnat' | 'snat' | 'masquerade' | 'redirect'; to?: string }
  /**
   * MARK / CONNMARK / `meta mark set` / `ct mark set`: `field` becomes (old & ~clear) ^ xor,
   * xor-ed further with (copy.from & copy.mask) when the value is copied from the other mark.
   * Without `clear`, the new value is not one Verdict can compute: the mark becomes unknown.
   */
  | {
      kind: 'set-mark'
      field: 'mark' | 'ct-mark'
      clear?: number
      xor?: number
      copy?: { from: 'mark' | 'ct-mark'; mask: number }
      text: string
    }
  /**
   * NFQUEUE / nft `queue`: the packet goes to the program reading queue `num` (an IPS), whose
   * verdict it gets. With no program on the queue the kernel drops it, or with bypass lets it
   * through as an accept.
   */
  | { kind: 'queue'; num: string; bypass: boolean; text: string }
  /** Read and kept, not modelled (CT, TCPMSS ...); does not end traversal. */
  | { kind: 'other'; name: string; text: string; terminal: boolean }

export interface Rule {
  source: Source
  /** The rule's own text (the line, or for nft the statement) exactly as written. */
  text: string
  matches: Match[]
  action: Action
  comment?: string
  handle?: number
  counters?: { packets: number; bytes: number }
  /** A log that runs before the rule's verdict (nft's `log prefix "X" drop` in one rule). */
  log?: { prefix?: string; group?: number }
  /** Marks the rule sets before its verdict (nft's `meta mark set 0x1 accept` in one rule). */
  marks?: SetMark[]
  /** nft's `notrack` statement in a rule that also has a verdict (`notrack accept`). */
  notrack?: boolean
}

/**
 * Whether a rule takes the packet out of connection tracking: iptables' NOTRACK and
 * `CT --notrack` targets, nft's `notrack` statement. Before conntrack (a raw-priority chain on
 * prerouting or output) the packet and every later chain then see `ct state untracked`.
 */
export function untracks(rule: Rule): boolean {
  if (rule.notrack) return true
  const a = rule.action
  if (a.kind !== 'other') return false
  return (
    a.name === 'NOTRACK' ||
    a.name === 'notrack' ||
    (a.name === 'CT' && /(^|\s)--notrack\b/.test(a.text))
  )
}

/** Conntrack's own priority on the prerouting and output hooks: chains before it may untrack. */
export const CONNTRACK_PRIORITY = -200

/** A MARK / CONNMARK / `meta mark set` / `ct mark set` action. */
export type SetMark = Extract<Action, { kind: 'set-mark' }>

export interface Chain {
  name: string
  /** Present for a base chain: where it hooks in, and its default policy. */
  base?: {
    type: 'filter' | 'nat' | 'route'
    hook: Hook
    priority: number
    policy: 'accept' | 'drop'
    /** A netdev chain's devices (`device "eth0"`, `devices = { ... }`): it sees only theirs. */
    devices?: string[]
  }
  /** The line that sets the policy (`:INPUT DROP [0:0]`, or nft's `type filter hook ...`). */
  policySource?: Source
  rules: Rule[]
  counters?: { packets: number; bytes: number }
}

export interface Table {
  family: Family
  name: string
  chains: Chain[]
}

/** A parsed snapshot. */
export interface Ruleset {
  system: 'iptables' | 'ip6tables' | 'nftables'
  /** iptables-save's variant, from its header: nf_tables (its tables are nft tables) or legacy. */
  variant?: 'nf_tables' | 'legacy'
  source: string
  tables: Table[]
  problems: Problem[]
  /** ipsets the rules name, from an `ipset save` snapshot loaded beside them. */
  ipsets?: Map<string, IpSet>
}

/** One ipset from `ipset save`: its type (hash:ip, hash:net,port, bitmap:port, list:set ...) and members. */
export interface IpSet {
  name: string
  /** The storage method and the dimensions, e.g. ['ip'], ['net', 'port'], ['set']. */
  method: 'hash' | 'bitmap' | 'list'
  dims: string[]
  family: 4 | 6
  members: IpSetMember[]
  source: Source
}

/** One member: one value per dimension of its set. */
export interface IpSetMember {
  cidrs: Cidr[]
  ports: { proto?: number; port: [number, number] }[]
  sets: string[]
  line: number
  /**
   * `nomatch`: a hole in a hash:net set (a more specific entry that the packet, found in it,
   * does not match the set by).
   */
  nomatch?: boolean
}

/** The priority numbers of iptables' tables and nft's named priorities (netfilter_ipv4.h). */
export const PRIORITY = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100
} as const
