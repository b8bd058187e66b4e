/**
 * One model for every Linux firewall snapshot (iptables-save, nft): tables of
 * chains of rules, each rule kept with its line and its text exactly as written.
 */

import type { Problem } from '../../shared/problem'

export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev'
export type Hook =
  'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress'
export type CtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked'

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
  /** Matches whose outcome depends on state Verdict cannot see (limit, recent, ...): assumed to match. */
  | { kind: 'stateful'; name: string; text: string }
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
  /** Read and kept, not modelled (MARK, CT, TCPMSS ...); does not end traversal. */
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
}

export interface Chain {
  name: string
  /** Present for a base chain: where it hooks in, and its default policy. */
  base?: {
    type: 'filter' | 'nat' | 'route'
    hook: Hook
    priority: number
    policy: 'accept' | 'drop'
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
