/**
 * Fixes in the firewall's own dialect: an iptables or ip6tables command that
 * inserts an accept just before the rule that dropped the flows (or appends
 * it before the policy applies), the same as an `nft insert rule` / `nft add
 * rule`, and sysctl commands for kernel limits.
 */

import type { Flow } from '../../shared/incident'
import { formatIpv6 } from '../capture/format-address'
import type { Chain, Cidr, Rule, Ruleset, Table } from '../rulesets/model'
import { inCidr, parseCidr } from '../rulesets/parse-address'

/** Where the accept goes: the table, chain and line of the deciding rule (absent for a policy). */
export interface FixSite {
  ruleset: Ruleset
  table: string
  chain: string
  /** The deciding rule's line; undefined when a policy decided. */
  line?: number
  /** The deciding rule's position in its chain, where the walk gives it (lines may repeat). */
  index?: number
}

/** What the accept lets through. */
export interface Allow {
  proto: Flow['proto']
  /** Source and destination to name (omitted when the findings' flows differ in them). */
  src?: string
  dst?: string
  dport?: number
  /** The source port (an answer accepted by address). */
  sport?: number
  /** ICMP type (and code) by name: 'frag-needed', 'packet-too-big', 'echo-request'. */
  icmp?: 'frag-needed' | 'packet-too-big' | 'echo-request' | 'echo-reply' | 'neighbour-discovery'
  /** Accept by conntrack state instead (the return-path fix). */
  ctEstablished?: boolean
}

/**
 * The chain named `chain` of the table named `table` that holds one (an nft ruleset may have a
 * table of that name in each family), with its table.
 */
export function chainAt(
  ruleset: Ruleset,
  table: string,
  chain: string
): { table: Table; chain: Chain } | undefined {
  for (const t of ruleset.tables) {
    if (t.name !== table) continue
    const c = t.chains.find((x) => x.name === chain)
    if (c) return { table: t, chain: c }
  }
  return undefined
}

/** Returns the command that inserts `allow` where `site` says, in the snapshot's dialect. */
export function acceptFix(site: FixSite, allow: Allow): string | undefined {
  const at = chainAt(site.ruleset, site.table, site.chain)
  if (!at) return undefined
  const { table, chain } = at
  // Before the deciding rule, and before the log rules just in front of it (a LOG that records
  // the drop would otherwise log every packet the fix accepts as dropped); for a policy, before
  // the log rules that end the chain.
  let index = site.line === undefined ? chain.rules.length : ruleIndex(chain.rules, site)
  if (index >= 0) while (index > 0 && chain.rules[index - 1].action.kind === 'log') index--
  if (index === chain.rules.length) index = -1
  if (site.ruleset.system === 'nftables')
    return nftFix(table, site.chain, chain.rules, index, allow)
  const tool =
    site.ruleset.system === 'ip6tables' || table.family === 'ip6' ? 'ip6tables' : 'iptables'
  const t = site.table === 'filter' ? '' : `-t ${site.table} `
  const where = index >= 0 ? `-I ${site.chain} ${index + 1}` : `-A ${site.chain}`
  const accept = (m: string): string => `${tool} ${t}${where} ${m} -j ACCEPT`
  const match = iptablesMatch(allow, tool === 'ip6tables')
  // Discovery needs both ways: the solicitation in and the advertisement that answers it.
  if (allow.icmp === 'neighbour-discovery')
    return [match, match.replace('neighbour-solicitation', 'neighbour-advertisement')]
      .map(accept)
      .join('\n')
  return accept(match)
}

function iptablesMatch(a: Allow, v6: boolean): string {
  if (a.ctEstablished) return '-m conntrack --ctstate ESTABLISHED,RELATED'
  const parts: string[] = []
  if (a.proto === 'icmp' || a.proto === 'icmpv6' || a.icmp) {
    if (v6) {
      parts.push('-p ipv6-icmp')
      if (a.icmp)
        parts.push(
          `--icmpv6-type ${a.icmp === 'frag-needed' ? 'packet-too-big' : a.icmp === 'neighbour-discovery' ? 'neighbour-solicitation' : a.icmp}`
        )
    } else {
      parts.push('-p icmp')
      if (a.icmp)
        parts.push(`--icmp-type ${a.icmp === 'frag-needed' ? 'fragmentation-needed' : a.icmp}`)
    }
  } else parts.push(`-p ${a.proto}`)
  if (a.src) parts.push(`-s ${a.src}`)
  if (a.dst) parts.push(`-d ${a.dst}`)
  if (a.sport !== undefined && (a.proto === 'tcp' || a.proto === 'udp') && !a.icmp)
    parts.push(`--sport ${a.sport}`)
  if (a.dport !== undefined && (a.proto === 'tcp' || a.proto === 'udp') && !a.icmp)
    parts.push(`--dport ${a.dport}`)
  return parts.join(' ')
}

function nftFix(table: Table, chain: string, rules: Rule[], index: number, a: Allow): string {
  const head = `${table.family} ${table.name} ${chain}`
  const body = `${nftMatch(a, table.family)} accept`
  if (index < 0) return `nft add rule ${head} ${body}`
  const handle = rules[index].handle
  return handle !== undefined
    ? `nft insert rule ${head} handle ${handle} ${body}`
    : `nft insert rule ${head} index ${index} ${body}`
}

function nftMatch(a: Allow, family: string): string {
  if (a.ctEstablished) return 'ct state established,related'
  const parts: string[] = []
  const v6 = (a.src ?? a.dst ?? '').includes(':') || a.proto === 'icmpv6' || family === 'ip6'
  const ip = v6 ? 'ip6' : 'ip'
  if (a.src) parts.push(`${ip} saddr ${a.src}`)
  if (a.dst) parts.push(`${ip} daddr ${a.dst}`)
  if (a.icmp === 'frag-needed' || a.icmp === 'packet-too-big')
    parts.push(
      v6 ? 'icmpv6 type packet-too-big' : 'icmp type destination-unreachable icmp code frag-needed'
    )
  else if (a.icmp === 'neighbour-discovery')
    parts.push('icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }')
  else if (a.icmp) parts.push(`${v6 ? 'icmpv6' : 'icmp'} type ${a.icmp}`)
  else if ((a.proto === 'tcp' || a.proto === 'udp') && a.sport !== undefined)
    parts.push(`${a.proto} sport ${a.sport}`)
  else if (a.proto === 'tcp' || a.proto === 'udp')
    parts.push(a.dport !== undefined ? `${a.proto} dport ${a.dport}` : `meta l4proto ${a.proto}`)
  else parts.push(`meta l4proto ${a.proto === 'icmpv6' ? 'ipv6-icmp' : 'icmp'}`)
  return parts.join(' ')
}

/** Returns the sysctl that raises the conntrack table's size (twice the current maximum). */
export function conntrackMaxFix(max?: number): string {
  const next = max !== undefined && max > 0 ? max * 2 : 262144
  return `sysctl -w net.netfilter.nf_conntrack_max=${next}`
}

/** Returns the commands that clamp TCP's MSS to the path MTU on a router (the PMTUD black-hole workaround). */
export function mssClampFix(v6: boolean): string {
  return `${v6 ? 'ip6tables' : 'iptables'} -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`
}

/**
 * The command that masquerades a source network leaving by `out`, in the router's own firewall:
 * nft into its existing nat postrouting chain (or a new one), iptables otherwise.
 */
export function masqueradeFix(
  ruleset: Ruleset | undefined,
  v6: boolean,
  network: string,
  out: string | undefined,
  /** Only the connections to this server and port (a hairpin NAT): the rule goes first. */
  to?: { addr: string; proto: 'tcp' | 'udp'; port?: number }
): string {
  if (ruleset?.system !== 'nftables') {
    const where = to ? '-I POSTROUTING 1' : '-A POSTROUTING'
    const dst = to
      ? ` -d ${to.addr} -p ${to.proto}${to.port !== undefined ? ` --dport ${to.port}` : ''}`
      : ''
    return `${v6 ? 'ip6tables' : 'iptables'} -t nat ${where} -s ${network}${dst}${out ? ` -o ${out}` : ''} -j MASQUERADE`
  }
  const ip = v6 ? 'ip6' : 'ip'
  const dst = to
    ? ` ${ip} daddr ${to.addr} ${to.proto}${to.port !== undefined ? ` dport ${to.port}` : ''}`
    : ''
  const match = `${ip} saddr ${network}${dst}${out ? ` oifname "${out}"` : ''} masquerade`
  for (const t of ruleset.tables) {
    if (t.family !== 'inet' && t.family !== (v6 ? 'ip6' : 'ip')) continue
    const c = t.chains.find((x) => x.base?.type === 'nat' && x.base.hook === 'postrouting')
    if (c) return `nft ${to ? 'insert' : 'add'} rule ${t.family} ${t.name} ${c.name} ${match}`
  }
  const family = v6 ? 'ip6' : 'ip'
  return [
    `nft add table ${family} nat`,
    `nft 'add chain ${family} nat postrouting { type nat hook postrouting priority srcnat; }'`,
    `nft add rule ${family} nat postrouting ${match}`
  ].join('\n')
}

/** The set a rule matches the packet's source against, the element holding it, and its removal. */
export interface SourceSet {
  /** As the ruleset names it: `@blocklist` (nft) or `blocklist` (ipset). */
  label: string
  /** The element (an address or a prefix) that holds the source. */
  element: string
  /** The command that takes the element out of the set. */
  fix: string
}

/**
 * When the rule that decided drops by the packet's source held in a set (nft `saddr @name`,
 * iptables `-m set --match-set NAME src`), the set and the element holding the source: taking
 * that element out is the fix for this source alone, where an accept before the rule would let
 * every source of the set through.
 */
export function sourceSet(site: FixSite, rule: Rule, src: string): SourceSet | undefined {
  const addr = parseCidr(src)
  if (!addr) return undefined
  /** The most specific prefix among `cidrs` holding the source. */
  const holding = (cidrs: Cidr[]): Cidr | undefined =>
    cidrs
      .filter((c) => c.version === addr.version && inCidr(addr, c))
      .sort((x, y) => y.bits - x.bits)[0]
  if (site.ruleset.system === 'nftables') {
    const named = /\bsaddr\s+@([\w.-]+)/.exec(rule.text)
    // (The listed elements of a set filled by traffic, as the snapshot gives them.)
    const match = rule.matches
      .map((m) => (m.kind === 'stateful' && m.listed && !m.listed.negate ? m.listed.match : m))
      .find((m) => m?.kind === 'saddr' && !m.negate)
    const element = match?.kind === 'saddr' ? holding(match.cidrs) : undefined
    const table = chainAt(site.ruleset, site.table, site.chain)?.table
    if (!named || !element || !table) return undefined
    const text = prefixText(element, src)
    return {
      label: `@${named[1]}`,
      element: text,
      fix: `nft delete element ${table.family} ${table.name} ${named[1]} { ${text} }`
    }
  }
  const match = rule.matches.find((m) => m.kind === 'ipset' && !m.negate && m.dirs[0] === 'src')
  if (match?.kind !== 'ipset' || match.dirs.length !== 1) return undefined
  const set = site.ruleset.ipsets?.get(match.name)
  if (!set || set.dims.length !== 1) return undefined
  const element = holding(set.members.filter((m) => !m.nomatch).flatMap((m) => m.cidrs))
  if (!element) return undefined
  const text = prefixText(element, src)
  // A network of a hash:net set: a nomatch hole for the one source, not the whole network out.
  const hole = set.method === 'hash' && set.dims[0] === 'net' && text !== src
  return {
    label: match.name,
    element: text,
    fix: hole ? `ipset add ${match.name} ${src} nomatch` : `ipset del ${match.name} ${text}`
  }
}

/** A set element as written: the source itself when the element is that one address. */
function prefixText(c: Cidr, src: string): string {
  const full = c.version === 4 ? 32 : 128
  if (c.bits === full) return src
  if (c.version === 4) {
    const w = c.words[0]
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}/${c.bits}`
  }
  const bytes = new Uint8Array(16)
  const view = new DataView(bytes.buffer)
  c.words.forEach((w, i) => view.setUint32(i * 4, w >>> 0))
  return `${formatIpv6(bytes, 0)}/${c.bits}`
}

/**
 * The position of the rule a walk names in its chain: by the position the walk gives, else by
 * its line (-1 when neither finds it). Lines alone do not name a rule of an nft JSON snapshot,
 * whose rules may share one line.
 */
export function ruleIndex(rules: readonly Rule[], at: { line?: number; index?: number }): number {
  if (at.index !== undefined && at.index < rules.length && rules[at.index].source.line === at.line)
    return at.index
  return rules.findIndex((r) => r.source.line === at.line)
}
