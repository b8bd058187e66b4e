/**
 * The firewalld oracle's judgements (firewalld-oracle.test.ts): what the sender hears when
 * Verdict's verdict happens, what it did hear, and whether the kernel's log lines for the probes
 * are the ones Verdict says firewalld writes.
 */
import type { PacketSpec } from '../../../src-main/engine/evaluate/packet-spec'
import {
  firewalldLogPrefix,
  type FirewalldLogPrefix
} from '../../../src-main/engine/firewalld/chain-names'
import type { FirewalldPath } from '../../../src-main/engine/firewalld/evaluate-firewalld'
import { packetKind } from '../../../src-main/engine/firewalld/match-firewalld'
import type {
  FirewalldConfig,
  FirewalldDecision,
  FirewalldVerdict
} from '../../../src-main/engine/firewalld/model'
import type { LogEvent } from '../../../src-main/engine/logs/log-event'
import { readLog } from '../../../src-main/engine/logs/read-log'
import { compareAddress, parseCidr } from '../../../src-main/engine/rulesets/parse-address'

/** What the sender heard: accept, drop, `reject tcp-reset`, `reject icmp-T/C` or `reject icmp6-T/C`. */
export type Outcome = string
export const ACCEPT = 'accept'
export const DROP = 'drop'
export const ADMIN = 'reject icmp-3/13'
export const HOST_PROHIBITED = 'reject icmp-3/10'
export const RST = 'reject tcp-reset'
/** ICMPv6 destination unreachable (RFC 4443 §3.1): no route, administratively prohibited ... */
export const NO_ROUTE6 = 'reject icmp6-1/0'
export const ADMIN6 = 'reject icmp6-1/1'
export const ADDR6 = 'reject icmp6-1/3'
export const PORT6 = 'reject icmp6-1/4'

/** Destination-unreachable codes by nft's reject names: ICMP type 3, ICMPv6 type 1. */
const UNREACHABLE: Record<'icmp' | 'icmpv6', Record<string, number>> = {
  icmp: {
    'net-unreachable': 0,
    'host-unreachable': 1,
    'prot-unreachable': 2,
    'port-unreachable': 3,
    'net-prohibited': 9,
    'host-prohibited': 10,
    'admin-prohibited': 13
  },
  icmpv6: {
    'no-route': 0,
    'admin-prohibited': 1,
    'addr-unreachable': 3,
    'port-unreachable': 4,
    'policy-fail': 5,
    'reject-route': 6
  }
}
/** nft's family-neutral `icmpx` codes as each family sends them (nft_reject_inet.c). */
const ICMPX: Record<string, [string, string]> = {
  'no-route': ['net-unreachable', 'no-route'],
  'port-unreachable': ['port-unreachable', 'port-unreachable'],
  'host-unreachable': ['host-unreachable', 'addr-unreachable'],
  'admin-prohibited': ['admin-prohibited', 'admin-prohibited']
}

/** What the sender hears when Verdict's verdict happens. */
export function verdictOutcome(v: FirewalldVerdict, p: PacketSpec): Outcome {
  if (v.verdict !== 'reject') return v.verdict
  // No ICMP error answers a broadcast or multicast (RFC 1122 §3.2.2, RFC 4443 §2.4 e.3).
  if (packetKind(p) !== 'unicast') return DROP
  const w = v.rejectWith ?? ''
  if (w === 'tcp reset') return RST
  const v6 = p.dst.version === 6
  const family = v6 ? 'icmpv6' : 'icmp'
  const m = /^(icmpx|icmpv6|icmp) (\S+)$/.exec(w)
  // An `icmp` reject cannot answer an IPv6 packet, nor `icmpv6` an IPv4 one.
  const name = m?.[1] === 'icmpx' ? ICMPX[m[2]]?.[v6 ? 1 : 0] : m?.[1] === family ? m[2] : undefined
  const code = name === undefined ? undefined : UNREACHABLE[family][name]
  if (code === undefined) return `reject ${w}`
  return v6 ? `reject icmp6-1/${code}` : `reject icmp-3/${code}`
}

/** The kernel's verdict, from the probe's answer. */
export function kernelOutcome(answer: string): Outcome {
  if (['synack', 'udp-reply', 'echo-reply', 'timestamp-reply'].includes(answer)) return ACCEPT
  if (answer === 'none') return DROP
  if (answer === 'rst') return RST
  if (/^icmp6?-\d+\/\d+$/.test(answer)) return `reject ${answer}`
  return `unknown answer ${answer}`
}

/** A probe sent, and what Verdict said of it. */
export interface Sent {
  /** The probe as the table writes it. */
  spec: string
  p: PacketSpec
  /** Its TCP or UDP source port, or its ICMP id. */
  id: number
  /** The MAC address of the sender's interface: its frames into fw carry it. */
  mac: string
  path: FirewalldPath
  v: FirewalldVerdict
}

/** The log prefix exactly as the kernel wrote it: what stands between the time and `IN=`. */
function rawPrefix(line: string): string | undefined {
  return /^\[\s*\d+\.\d+\] (.*?)IN=\S* OUT=/.exec(line)?.[1]
}

/** Whether a logged packet is the probe's (its sender's frame, its addresses, ports or id). */
function isProbe(e: LogEvent, x: Sent): boolean {
  const q = e.packet
  if (!q || !q.mac?.includes(`:${x.mac}:`)) return false
  const same = (a: string, b: PacketSpec['src']): boolean => {
    const c = parseCidr(a)
    return c !== undefined && compareAddress(c, b) === 0
  }
  if (!same(q.src, x.p.src) || !same(q.dst, x.p.dst)) return false
  if (x.p.proto === 'tcp' || x.p.proto === 'udp')
    return q.proto === x.p.proto.toUpperCase() && q.sport === x.id && q.dport === x.p.dport
  return q.icmpType === x.p.icmpType && (q.icmpId === undefined || q.icmpId === x.id)
}

/**
 * Checks the kernel's log lines for the probes: each probe's prefixes, in order and without the
 * repeats of a retransmitted SYN, are those `evaluateFirewalld` says it logs; each LogDenied
 * prefix names, through `firewalldLogPrefix`, the zone or policy and the setting Verdict says
 * decided; any other prefix is a rich rule's `log prefix`. Returns what is wrong; `rows` gets
 * each probe's prefixes, and the senders' lines that belong to no probe (neighbour discovery...).
 */
export function checkLogs(
  lines: string[],
  sent: Sent[],
  config: FirewalldConfig,
  chainHere: (chain: string) => boolean,
  rows: string[]
): string[] {
  const wrong: string[] = []
  const read = readLog('dmesg', lines.join('\n'))
  const richPrefixes = new Set<string>()
  for (const owner of [...config.zones.values(), ...config.policies.values()])
    for (const r of owner.rules) if (r.log?.prefix) richPrefixes.add(r.log.prefix)
  const matched = new Set<LogEvent>()
  for (const x of sent) {
    const kernel: string[] = []
    for (const e of read.events) {
      if (e.kind !== 'packet' || !isProbe(e, x)) continue
      matched.add(e)
      const prefix = rawPrefix(e.text)
      if (prefix === undefined) wrong.push(`LOG: no prefix read in '${e.text}'`)
      else if (!kernel.includes(prefix)) kernel.push(prefix)
    }
    const ours = x.v.logs.map((l) => l.prefix)
    const row = `${x.spec}: kernel logged ${JSON.stringify(kernel)}, Verdict ${JSON.stringify(ours)}`
    rows.push(row)
    if (JSON.stringify(kernel) !== JSON.stringify(ours)) wrong.push(`LOG DISAGREES: ${row}`)
    for (const l of x.v.logs)
      if (!chainHere(l.chain)) wrong.push(`LOG: no chain ${l.chain} for '${l.prefix}': ${row}`)
    for (const prefix of kernel) {
      const named = firewalldLogPrefix(prefix)
      if (!named) {
        if (!richPrefixes.has(prefix))
          wrong.push(`LOG: '${prefix}' is neither firewalld's nor a rich rule's: ${row}`)
        continue
      }
      const bad = namesDecision(named, x)
      if (bad) wrong.push(`LOG: '${prefix}' ${bad}: ${row}`)
      if (!chainHere(named.chain))
        wrong.push(`LOG: no chain ${named.chain} for '${prefix}': ${row}`)
    }
  }
  const senders = new Set(sent.map((x) => x.mac))
  for (const e of read.events)
    if (!matched.has(e) && [...senders].some((m) => e.packet?.mac?.includes(`:${m}:`)))
      rows.push(`not a probe's: ${e.text}`)
  return wrong
}

const HOOK = { input: 'IN', forward: 'FWD', output: 'OUT' } as const

/** What is wrong when a LogDenied prefix does not name the setting Verdict says decided. */
function namesDecision(l: FirewalldLogPrefix, x: Sent): string | undefined {
  const d = x.v.decidedBy
  const action = l.action === 'REJECT' ? 'reject' : 'drop'
  const says = `${l.kind} ${l.zone ?? l.policy ?? ''} ${l.action}`
  const decided = `${d.kind} of ${d.zone ?? d.policy ?? '(none)'}, ${x.v.verdict}`
  const kinds: Record<FirewalldLogPrefix['kind'], FirewalldDecision['kind'][]> = {
    'zone-target': ['target'],
    'policy-target': ['policy-target'],
    'icmp-block': ['icmp-block', 'icmp-block-inversion'],
    'final-reject': ['builtin'],
    'state-invalid': ['builtin'],
    rpfilter: ['builtin'],
    rfc3964: ['builtin']
  }
  if (!kinds[l.kind].includes(d.kind) || action !== x.v.verdict)
    return `says ${says}, Verdict's decision is ${decided}`
  if (l.zone !== undefined && l.zone !== d.zone) return `names zone ${l.zone}, Verdict ${decided}`
  if (l.policy !== undefined && l.policy !== d.policy)
    return `names policy ${l.policy}, Verdict ${decided}`
  if (l.hook !== undefined && l.hook !== HOOK[x.path.path])
    return `is for hook ${l.hook}, the packet's path is ${x.path.path}`
  return undefined
}
