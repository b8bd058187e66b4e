/**
 * A firewalld configuration as Verdict reads it: zones, policies, services,
 * ipsets and icmptypes merged from XML files, firewalld.conf and
 * `firewall-cmd --list-all-zones` text. Every setting keeps where it was written.
 */

import type { Problem } from '../../shared/problem'
import type { Cidr } from '../rulesets/model'

/** Where a setting is written: the file and the line. */
export interface Where {
  file: string
  line: number
}

/** A port or port range with its protocol, as `8080/tcp` or `5900-5903/tcp`. */
export interface PortProto {
  from: number
  to: number
  proto: string
}

/** A source or destination address of a zone, rich rule or service. */
export type AddressSpec =
  | { kind: 'cidr'; cidr: Cidr; text: string }
  | { kind: 'mac'; text: string }
  | { kind: 'ipset'; name: string }

/** The part of a rich rule that says what traffic it concerns, beyond addresses. */
export type RichElement =
  | { kind: 'none' }
  | { kind: 'service'; name: string }
  | { kind: 'port' | 'source-port'; port: PortProto }
  | { kind: 'protocol'; value: string }
  | { kind: 'icmp-block' | 'icmp-type'; name: string }
  | { kind: 'masquerade' }
  | { kind: 'forward-port'; port: PortProto; toPort?: string; toAddr?: string }
  | { kind: 'tcp-mss-clamp'; value?: string }

/** A rich rule's action: firewalld's accept, reject [type=...], drop or mark. */
export type RichAction =
  { kind: 'accept' | 'drop' } | { kind: 'reject'; type?: string } | { kind: 'mark'; set: string }

/** One rich rule, with its text as written (or as firewall-cmd prints an XML `<rule>`). */
export interface RichRule {
  text: string
  where: Where
  family?: 'ipv4' | 'ipv6'
  priority: number
  source?: { addr: AddressSpec; invert: boolean }
  destination?: { addr: AddressSpec; invert: boolean }
  element: RichElement
  log?: { prefix?: string; level?: string; nflog?: boolean }
  audit?: boolean
  action?: RichAction
  /** A `limit` on the action: its outcome depends on a rate Verdict cannot see. */
  limited?: boolean
}

/** A zone target as written: default, ACCEPT, DROP, %%REJECT%% (REJECT is its alias). */
export type ZoneTarget = 'default' | 'ACCEPT' | 'DROP' | '%%REJECT%%'
/** A policy target: CONTINUE, ACCEPT, DROP or REJECT. */
export type PolicyTarget = 'CONTINUE' | 'ACCEPT' | 'DROP' | 'REJECT'

/** Settings zones and policies share. */
export interface FirewallSettings {
  name: string
  where: Where
  services: { name: string; where: Where }[]
  ports: { port: PortProto; where: Where }[]
  protocols: { value: string; where: Where }[]
  sourcePorts: { port: PortProto; where: Where }[]
  icmpBlocks: { name: string; where: Where }[]
  icmpBlockInversion: boolean
  masquerade: boolean
  forwardPorts: { port: PortProto; toPort?: string; toAddr?: string; where: Where }[]
  rules: RichRule[]
}

/** A zone: where it applies (interfaces, sources) and what it allows. */
export interface Zone extends FirewallSettings {
  target: ZoneTarget
  targetWhere: Where
  interfaces: { name: string; where: Where }[]
  sources: { addr: AddressSpec; where: Where }[]
  /** Intra-zone forwarding (`<forward/>`). */
  forward: boolean
  ingressPriority: number
  egressPriority: number
}

/** A policy: traffic from its ingress zones to its egress zones (HOST, ANY or zone names). */
export interface Policy extends FirewallSettings {
  target: PolicyTarget
  targetWhere: Where
  priority: number
  ingressZones: string[]
  egressZones: string[]
  /** `<disable/>`: the policy is defined but firewalld does not apply it. */
  disabled: boolean
}

/** A service definition: ports, protocols, source ports, destinations and included services. */
export interface Service {
  name: string
  where: Where
  ports: PortProto[]
  protocols: string[]
  sourcePorts: PortProto[]
  destination: { ipv4?: Cidr; ipv6?: Cidr }
  includes: string[]
  helpers: string[]
  /** True for Verdict's table of firewalld's shipped services, used when no file defines it. */
  builtin?: boolean
}

/** An ipset firewalld manages, with its entries. */
export interface FirewalldIpSet {
  name: string
  type: string
  family: 4 | 6
  entries: string[]
  where: Where
}

/** An icmptype definition: which families it exists in. */
export interface IcmpTypeDef {
  name: string
  ipv4: boolean
  ipv6: boolean
  where: Where
}

/** firewalld.conf's settings that change what is generated. */
export interface FirewalldConf {
  defaultZone?: string
  logDenied: 'off' | 'all' | 'unicast' | 'broadcast' | 'multicast'
  backend: 'nftables' | 'iptables'
  /** `RFC3964_IPv4=no`: no reject of forwarded and outgoing IPv6 to 6to4 forms of private IPv4. */
  rfc3964Ipv4?: false
  where?: Where
}

/** A whole firewalld configuration. */
export interface FirewalldConfig {
  zones: Map<string, Zone>
  policies: Map<string, Policy>
  services: Map<string, Service>
  ipsets: Map<string, FirewalldIpSet>
  icmptypes: Map<string, IcmpTypeDef>
  conf: FirewalldConf
  problems: Problem[]
}

/** What firewalld would do with a packet, which setting decides it and where it sits in nft. */
export interface FirewalldVerdict {
  verdict: 'accept' | 'drop' | 'reject'
  /** For reject: what is sent back (e.g. `icmpx admin-prohibited`, `icmp port-unreachable`). */
  rejectWith?: string
  decidedBy: FirewalldDecision
  /** The nft chain firewalld generates where the deciding rule sits, e.g. `filter_IN_public_allow`. */
  chain: string
  /** Log lines the packet produces on its way: LogDenied prefixes and rich rule `log`. */
  logs: { prefix: string; chain: string }[]
  /** The zone the packet entered by (and, for forward/output, the zone it leaves by). */
  zone?: string
  egressZone?: string
  /** The chains visited, in order. */
  trace: string[]
  /** True when the outcome rests on something Verdict cannot see (a rate limit, an unknown ipset). */
  uncertain: boolean
  notes: string[]
}

/** The setting that decided a packet. */
export interface FirewalldDecision {
  kind:
    | 'target'
    | 'policy-target'
    | 'service'
    | 'port'
    | 'protocol'
    | 'source-port'
    | 'rich-rule'
    | 'icmp-block'
    | 'icmp-block-inversion'
    | 'forward'
    | 'forward-port'
    | 'builtin'
  zone?: string
  policy?: string
  /** The setting as written: `ssh`, `8080/tcp`, the rich rule's text, `target="DROP"`. */
  text: string
  file?: string
  line?: number
}
