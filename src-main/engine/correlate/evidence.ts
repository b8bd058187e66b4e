/**
 * Everything the text inputs said, sorted by host: the rulesets, host facts
 * and log events correlation reasons with. Captures become flows; this is
 * the rest of the evidence.
 */

import type { ConntrackTable } from '../hostfacts/read-conntrack'
import type { IpAddrSnapshot } from '../hostfacts/read-ip-addr'
import type { IpRouteSnapshot } from '../hostfacts/read-ip-route'
import type { IpRuleSnapshot } from '../hostfacts/read-ip-rule'
import type { SsSnapshot } from '../hostfacts/read-ss'
import type { SysctlSnapshot } from '../hostfacts/read-sysctl'
import { normalizeAddress } from '../hostfacts/address'
import type { LogEvent } from '../logs/log-event'
import type { Cidr, IpSet, Ruleset } from '../rulesets/model'
import { parseCidr } from '../rulesets/parse-address'
import { perHost } from './host-memo'

/** A snapshot and the file it came from. */
export interface FromFile<T> {
  file: string
  value: T
}

/** One host's evidence (its folder in an incident, or NAME=PATH). */
export interface HostEvidence {
  /** The host's name; '' for files that belong to no host. */
  name: string
  rulesets: FromFile<Ruleset>[]
  ipsets: FromFile<Map<string, IpSet>>[]
  ipAddr?: FromFile<IpAddrSnapshot>
  routes: FromFile<IpRouteSnapshot>[]
  /** `ip rule` snapshots: routing policy, tried before any table. */
  ipRules: FromFile<IpRuleSnapshot>[]
  ss?: FromFile<SsSnapshot>
  conntrack?: FromFile<ConntrackTable>
  sysctl: FromFile<SysctlSnapshot>[]
  /** Log events, in file order. */
  logs: LogEvent[]
  /** Log files read for this host. */
  logFiles: string[]
  /** Capture points that belong to this host. */
  points: string[]
  /**
   * The files of those points when a point has several (a capture per interface): each with the
   * time it covers and the interface it names, if any.
   */
  captures: HostCapture[]
  /** firewalld files (XML, firewalld.conf, `firewall-cmd --list-all*`): together one configuration. */
  firewalldFiles: { path: string; text: string }[]
  /**
   * For a host with bridges: the port each address's packets were captured on (leaving by it
   * toward the address, or coming in by it from the address), learnt from every conversation.
   */
  bridgePorts?: Map<string, string>
}

/** One capture file of a host's point with several files. */
export interface HostCapture {
  point: string
  /** The file's name as frame references give it. */
  file: string
  /** The interface the file names (pcapng if_name). */
  iface?: string
  /** The first and last packet's times; absent when the file holds no packet at all. */
  firstUs?: number
  lastUs?: number
}

/** The evidence of every host. */
export interface EvidenceSet {
  hosts: Map<string, HostEvidence>
}

/** Returns an empty evidence set. */
export function createEvidence(): EvidenceSet {
  return { hosts: new Map() }
}

/** Returns the host's evidence, created on first use ('' for files of no host). */
export function hostOf(ev: EvidenceSet, name: string | undefined): HostEvidence {
  const key = name ?? ''
  let h = ev.hosts.get(key)
  if (!h) {
    h = {
      name: key,
      rulesets: [],
      ipsets: [],
      routes: [],
      ipRules: [],
      sysctl: [],
      logs: [],
      logFiles: [],
      points: [],
      captures: [],
      firewalldFiles: []
    }
    ev.hosts.set(key, h)
  }
  return h
}

/** Returns the addresses a host's `ip addr` snapshot gives it, normalised, with their interface. */
export const hostAddresses: (h: HostEvidence) => Map<string, string> = perHost(
  (h) => h.ipAddr,
  (h) => {
    const out = new Map<string, string>()
    for (const i of h.ipAddr?.value.interfaces ?? [])
      for (const a of i.addresses) out.set(normalizeAddress(a.address), i.name)
    return out
  }
)

/**
 * A host's own addresses with their prefixes (which place each subnet's broadcast), from its
 * `ip addr`, for the rules that ask whether an address is the host's (addrtype LOCAL, fib
 * daddr type local: every published Docker port hangs off one); undefined without the snapshot.
 */
export const localAddresses: (h: HostEvidence) => Cidr[] | undefined = perHost(
  (h) => h.ipAddr,
  (h) => {
    if (!h.ipAddr) return undefined
    const out: Cidr[] = []
    for (const i of h.ipAddr.value.interfaces)
      for (const a of i.addresses) {
        const c = parseCidr(`${a.address}/${a.prefixLen}`)
        if (c) out.push(c)
      }
    return out
  }
)

/** Hands each host its ipsets: an iptables ruleset reads `-m set` names from the same host's `ipset save`. */
export function attachIpsets(ev: EvidenceSet): void {
  for (const h of ev.hosts.values()) {
    if (h.ipsets.length === 0) continue
    const all = new Map<string, IpSet>()
    for (const s of h.ipsets) for (const [k, v] of s.value) all.set(k, v)
    for (const r of h.rulesets) if (r.value.system !== 'nftables') r.value.ipsets = all
  }
}

/**
 * A sysctl key's value as a host's snapshots write it, from the first that has it (and whose
 * value `usable` accepts), with the file and line it came from.
 */
export function sysctlValue(
  h: HostEvidence,
  key: string,
  usable: (value: string) => boolean = () => true
): { value: string; file: string; line?: number } | undefined {
  for (const s of h.sysctl) {
    const value = s.value.values.get(key)
    if (value !== undefined && usable(value))
      return { value, file: s.file, line: s.value.lines.get(key) }
  }
  return undefined
}

/** Returns a host's sysctl value for a fact, the file and line it came from. */
export function sysctlFact<K extends keyof SysctlSnapshot['facts']>(
  h: HostEvidence,
  key: K
): { value: NonNullable<SysctlSnapshot['facts'][K]>; file: string } | undefined {
  for (const s of h.sysctl) {
    const v = s.value.facts[key]
    if (v !== undefined)
      return { value: v as NonNullable<SysctlSnapshot['facts'][K]>, file: s.file }
  }
  return undefined
}

/**
 * The interface a capture file is of: the one it names itself (pcapng), else the host's
 * interface its file name is made of ("eth0.pcap", "router-eth1.pcapng", "r1_capture.pcap").
 */
export function interfaceOf(host: HostEvidence, c: HostCapture): string | undefined {
  if (c.iface) return c.iface
  const stem = c.file.replace(/\.gz$/i, '').replace(/\.(pcapng|pcap|cap|dmp)$/i, '')
  const parts = stem.split(/[-_.@ ]/)
  const names = host.ipAddr?.value.interfaces.map((i) => i.name) ?? []
  const named = names.filter((n) => n !== 'lo' && (stem === n || parts.includes(n)))
  return named.length === 1 ? named[0] : undefined
}
