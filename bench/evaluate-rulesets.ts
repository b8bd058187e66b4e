/**
 * Seeded, deterministic inputs for the evaluator benchmark (bench/evaluate.ts) and its
 * equivalence tests: a 10,000-rule iptables-save ruleset, an nft ruleset whose named interval
 * set holds 10,000 addresses (with a port set and a verdict map beside it), and packets drawn
 * from the same address and port space the rules use, so they meet every kind of rule.
 *
 * Address plan: 64 zones 10.Z.0.0/16 (Z = 0..63) behind eth1, the outside on eth0, published
 * services on 203.0.113.0/24 (DNATed to the zones), the firewall at 10.255.0.1.
 */
import type { CtState } from '../src-main/engine/rulesets/model'
import { packetSpec, type PacketSpec } from '../src-main/engine/evaluate/packet-spec'
import type { WalkOptions } from '../src-main/engine/evaluate/walk-netfilter'
// The kernel lab's seeded generator (mulberry32): the same sequence everywhere.
import { rng, type Rng } from '../test/lab/random-rulesets'

export { rng, type Rng }

const ZONES = 64
const PORTS = [
  22, 25, 53, 80, 110, 123, 143, 161, 389, 443, 465, 514, 587, 636, 993, 995, 1194, 1433, 1521,
  2049, 3000, 3306, 3389, 5060, 5432, 5672, 6379, 6443, 8000, 8080, 8443, 9000, 9090, 9200, 9418,
  10250, 11211, 27017
]
const str4 = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')

/** An address inside the zones (mostly), or outside them. */
function zoneHost(r: Rng): number {
  if (r.chance(0.9)) return ((10 << 24) | (r.int(0, ZONES + 7) << 16) | r.int(0, 65535)) >>> 0
  return r.chance(0.5)
    ? ((203 << 24) | (0 << 16) | (113 << 8) | r.int(0, 255)) >>> 0
    : r.int(1, 0xdfffffff)
}

/** A prefix around the zones: a /16, /20, /24, /28 or a host. */
function zonePrefix(r: Rng): string {
  const bits = r.pick([16, 20, 24, 24, 24, 28, 32, 32])
  const addr = ((10 << 24) | (r.int(0, ZONES - 1) << 16) | r.int(0, 65535)) >>> 0
  const mask = (0xffffffff << (32 - bits)) >>> 0
  const base = str4((addr & mask) >>> 0)
  return bits === 32 ? base : `${base}/${bits}`
}

function portSpec(r: Rng): string {
  const p = r.pick(PORTS)
  return r.chance(0.8) ? String(p) : `${p}:${p + r.int(1, 200)}`
}

/** One iptables rule's matches and target for a chain of the filter table. */
function iptablesRule(r: Rng, chain: string, userChain: boolean): string {
  const parts = [`-A ${chain}`]
  const forward = chain === 'FORWARD' || userChain
  if (chain !== 'OUTPUT' && r.chance(0.25)) parts.push(`-i ${r.pick(['eth0', 'eth1', 'eth+'])}`)
  if (chain !== 'INPUT' && r.chance(forward ? 0.15 : 0.2))
    parts.push(`-o ${r.pick(['eth0', 'eth1'])}`)
  if (r.chance(userChain ? 0.3 : 0.55))
    parts.push(`${r.chance(0.05) ? '! ' : ''}-s ${zonePrefix(r)}`)
  if (r.chance(0.6)) parts.push(`${r.chance(0.05) ? '! ' : ''}-d ${zonePrefix(r)}`)
  const proto = r.pick(['tcp', 'tcp', 'tcp', 'tcp', 'udp', 'udp', 'udp', 'icmp', '', ''])
  if (proto) parts.push(`-p ${proto}`)
  if (proto === 'tcp' || proto === 'udp') {
    const k = r.next()
    if (k < 0.6) parts.push(`-m ${proto} --dport ${portSpec(r)}`)
    else if (k < 0.8) {
      const ports = Array.from({ length: r.int(2, 6) }, () => portSpec(r))
      parts.push(`-m multiport --dports ${[...new Set(ports)].join(',')}`)
    } else if (k < 0.88) parts.push(`-m ${proto} --sport ${portSpec(r)}`)
    if (proto === 'tcp' && r.chance(0.1)) parts.push('--tcp-flags FIN,SYN,RST,ACK SYN')
  } else if (proto === 'icmp' && r.chance(0.7)) {
    parts.push(
      `-m icmp --icmp-type ${r.pick(['echo-request', 'echo-reply', 'destination-unreachable', 'time-exceeded'])}`
    )
  }
  if (r.chance(0.15))
    parts.push(
      `-m conntrack --ctstate ${r.pick(['NEW', 'NEW', 'ESTABLISHED', 'RELATED,ESTABLISHED', 'INVALID'])}`
    )
  const t = r.next()
  if (t < 0.4) parts.push('-j ACCEPT')
  else if (t < 0.62) parts.push('-j DROP')
  else if (t < 0.78) {
    const tcpReset = proto === 'tcp' && r.chance(0.5)
    parts.push(
      `-j REJECT --reject-with ${tcpReset ? 'tcp-reset' : r.pick(['icmp-port-unreachable', 'icmp-host-prohibited', 'icmp-admin-prohibited'])}`
    )
  } else if (t < 0.9) parts.push(`-j LOG --log-prefix "${chain.toLowerCase()}-${r.int(0, 999)}: "`)
  else parts.push(userChain ? '-j RETURN' : '-j ACCEPT')
  return parts.join(' ')
}

/**
 * An iptables-save snapshot of `rules` rules: nat (DNAT of published services, masquerade),
 * and filter with INPUT, FORWARD dispatching to 64 zone chains, and OUTPUT.
 */
export function iptablesRuleset(seed: number, rules = 10_000): string {
  const r = rng(seed)
  const nat: string[] = []
  for (let i = 0; i < Math.round(rules * 0.02); i++) {
    const port = r.pick(PORTS)
    const to = `10.${r.int(0, ZONES - 1)}.${r.int(0, 255)}.${r.int(1, 254)}`
    nat.push(
      `-A PREROUTING -d 203.0.113.${r.int(1, 254)}/32 -i eth0 -p tcp -m tcp --dport ${port} -j DNAT --to-destination ${to}:${r.chance(0.5) ? port : 8080}`
    )
  }
  const post = Array.from(
    { length: 16 },
    (_, z) => `-A POSTROUTING -s 10.${z * 4}.0.0/14 -o eth0 -j MASQUERADE`
  )
  const head = [
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A INPUT -m conntrack --ctstate INVALID -j DROP'
  ]
  const fwdHead = [
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate INVALID -j DROP'
  ]
  const left = rules - nat.length - post.length - head.length - fwdHead.length - ZONES - 2
  const inputN = Math.round(left * 0.15)
  const forwardN = Math.round(left * 0.15)
  const outputN = Math.round(left * 0.1)
  const zoneN = left - inputN - forwardN - outputN
  const input = Array.from({ length: inputN }, () => iptablesRule(r, 'INPUT', false))
  const output = Array.from({ length: outputN }, () => iptablesRule(r, 'OUTPUT', false))
  const forward = Array.from({ length: forwardN }, () => iptablesRule(r, 'FORWARD', false))
  // Zone dispatch jumps are spread through FORWARD.
  for (let z = 0; z < ZONES; z++) {
    const jump = `-A FORWARD ${r.chance(0.5) ? '-i eth1 ' : ''}-s 10.${z}.0.0/16 -j zone${z}`
    forward.splice(r.int(0, forward.length), 0, jump)
  }
  const zones: string[] = []
  for (let z = 0; z < ZONES; z++) {
    const n = Math.floor(zoneN / ZONES) + (z < zoneN % ZONES ? 1 : 0)
    for (let i = 0; i < n; i++) zones.push(iptablesRule(r, `zone${z}`, true))
  }
  return [
    `# generated by bench/evaluate-rulesets.ts, seed ${seed}, ${rules} rules`,
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...nat,
    ...post,
    'COMMIT',
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...Array.from({ length: ZONES }, (_, z) => `:zone${z} - [0:0]`),
    ...head,
    ...input,
    '-A INPUT -j LOG --log-prefix "input-drop: "',
    ...fwdHead,
    ...forward,
    '-A FORWARD -j LOG --log-prefix "forward-drop: "',
    ...output,
    ...zones,
    'COMMIT',
    ''
  ].join('\n')
}

/** One nft rule for a zone or base chain (the port set and the address set appear in some). */
function nftRule(r: Rng): string {
  const parts: string[] = []
  if (r.chance(0.2)) parts.push(`iifname "${r.pick(['eth0', 'eth1', 'eth*'])}"`)
  if (r.chance(0.4)) parts.push(`ip saddr ${r.chance(0.05) ? '!= ' : ''}${zonePrefix(r)}`)
  if (r.chance(0.5)) parts.push(`ip daddr ${zonePrefix(r)}`)
  const proto = r.pick(['tcp', 'tcp', 'udp', 'icmp', ''])
  if (proto === 'tcp' || proto === 'udp') {
    const k = r.next()
    if (k < 0.3) parts.push(`${proto} dport @svc`)
    else if (k < 0.7) parts.push(`${proto} dport ${portSpec(r).replace(':', '-')}`)
    else if (k < 0.9)
      parts.push(
        `${proto} dport { ${[...new Set(Array.from({ length: r.int(2, 5) }, () => portSpec(r).replace(':', '-')))].join(', ')} }`
      )
    else parts.push(`meta l4proto ${proto}`)
  } else if (proto === 'icmp') parts.push(`icmp type ${r.pick(['echo-request', 'echo-reply'])}`)
  if (r.chance(0.1)) parts.push(`ct state ${r.pick(['new', 'established', 'established,related'])}`)
  if (r.chance(0.05)) parts.push('ip saddr @blocked')
  const t = r.next()
  parts.push(
    t < 0.45
      ? 'accept'
      : t < 0.7
        ? 'drop'
        : t < 0.85
          ? 'reject'
          : t < 0.95
            ? `log prefix "z${r.int(0, 99)}: "`
            : 'return'
  )
  return parts.join(' ')
}

/**
 * An nft inet ruleset with a 10,000-element interval set of IPv4 addresses (`@blocked`: hosts,
 * prefixes and ranges), a port set (`@svc`, with ranges) and a verdict map from zone prefixes to
 * zone chains (`@zones`), used by a few rules of input, forward and output.
 */
export function nftRuleset(seed: number, setSize = 10_000, rulesPerZone = 20): string {
  const r = rng(seed)
  const blocked = new Set<string>()
  while (blocked.size < setSize) {
    const a = r.chance(0.7)
      ? ((10 << 24) | (r.int(0, ZONES + 7) << 16) | r.int(0, 65535)) >>> 0
      : r.int(0x0b000000, 0xdfffffff)
    const k = r.next()
    if (k < 0.6) blocked.add(str4(a))
    else if (k < 0.85) {
      const bits = r.int(24, 30)
      const mask = (0xffffffff << (32 - bits)) >>> 0
      blocked.add(`${str4((a & mask) >>> 0)}/${bits}`)
    } else blocked.add(`${str4(a)}-${str4((a + r.int(1, 40)) >>> 0)}`)
  }
  // An interval set may not hold overlapping elements: keep the first of each overlap.
  const taken: [number, number][] = []
  const elements: string[] = []
  for (const e of blocked) {
    const [lo, hi] = span(e)
    if (taken.some(([a, b]) => lo <= b && hi >= a)) continue
    taken.push([lo, hi])
    elements.push(e)
  }
  const svc = new Set<string>()
  for (const p of PORTS) svc.add(String(p))
  while (svc.size < 200) {
    const p = r.int(1024, 60000)
    svc.add(r.chance(0.7) ? String(p) : `${p}-${p + r.int(1, 50)}`)
  }
  const zoneMap = Array.from({ length: ZONES }, (_, z) => `10.${z}.0.0/16 : jump zone${z}`)
  const base = (name: string, hook: string, policy: string, body: string[]): string[] => [
    `\tchain ${name} {`,
    `\t\ttype filter hook ${hook} priority filter; policy ${policy};`,
    ...body.map((l) => `\t\t${l}`),
    '\t}'
  ]
  const extra = (n: number): string[] =>
    Array.from({ length: n }, () => nftRule(r)).filter((l) => !l.endsWith('return'))
  return [
    `# generated by bench/evaluate-rulesets.ts, seed ${seed}, @blocked has ${elements.length} elements`,
    'table inet filter {',
    '\tset blocked {',
    '\t\ttype ipv4_addr',
    '\t\tflags interval',
    `\t\telements = { ${elements.join(', ')} }`,
    '\t}',
    '\tset svc {',
    '\t\ttype inet_service',
    '\t\tflags interval',
    `\t\telements = { ${[...svc].join(', ')} }`,
    '\t}',
    '\tmap zones {',
    '\t\ttype ipv4_addr : verdict',
    '\t\tflags interval',
    `\t\telements = { ${zoneMap.join(', ')} }`,
    '\t}',
    ...base('input', 'input', 'drop', [
      'iifname "lo" accept',
      'ct state established,related accept',
      'ct state invalid drop',
      'ip saddr @blocked drop',
      'tcp dport @svc accept',
      'udp dport @svc accept',
      ...extra(40),
      'log prefix "input-drop: "'
    ]),
    ...base('forward', 'forward', 'drop', [
      'ct state established,related accept',
      'ct state invalid drop',
      'ip saddr @blocked counter drop',
      'ip daddr @blocked reject with icmp type admin-prohibited',
      ...extra(20),
      'iifname "eth1" ip saddr vmap @zones',
      'log prefix "forward-drop: "'
    ]),
    ...base('output', 'output', 'accept', ['ip daddr @blocked reject', ...extra(20)]),
    ...Array.from({ length: ZONES }, (_, z) => [
      `\tchain zone${z} {`,
      ...Array.from({ length: rulesPerZone }, () => `\t\t${nftRule(r)}`),
      '\t}'
    ]).flat(),
    '}',
    ''
  ].join('\n')
}

function span(e: string): [number, number] {
  const ip = (s: string): number => s.split('.').reduce((n, o) => n * 256 + Number(o), 0)
  if (e.includes('-')) {
    const [a, b] = e.split('-')
    return [ip(a), ip(b)]
  }
  const [a, bits] = e.split('/')
  const n = bits === undefined ? 32 : Number(bits)
  return [ip(a), ip(a) + 2 ** (32 - n) - 1]
}

/** A packet and how it meets the host. */
export interface BenchPacket {
  packet: PacketSpec
  options: WalkOptions
}

const CT: CtState[] = [
  'new',
  'new',
  'new',
  'new',
  'new',
  'new',
  'established',
  'established',
  'established',
  'related',
  'invalid'
]
const FIREWALL = ((10 << 24) | (255 << 16) | 1) >>> 0

/**
 * Returns a generator of packets (seeded): addresses from the zones and beyond, ports mostly
 * the services the rules name, TCP/UDP/ICMP, every conntrack state, on the input, forward and
 * output paths with their interfaces.
 */
export function packetStream(seed: number): () => BenchPacket {
  const r = rng(seed)
  return () => {
    const k = r.next()
    const path: WalkOptions['path'] = k < 0.6 ? 'forward' : k < 0.9 ? 'input' : 'output'
    let src = zoneHost(r)
    let dst = zoneHost(r)
    if (path === 'input') dst = r.chance(0.7) ? FIREWALL : dst
    if (path === 'output') src = FIREWALL
    const pk = r.next()
    const proto: PacketSpec['proto'] = pk < 0.6 ? 'tcp' : pk < 0.9 ? 'udp' : 'icmp'
    const ct = r.pick(CT)
    let sport: number | undefined
    let dport: number | undefined
    let tcpFlags: number | undefined
    let icmpType: number | undefined
    let icmpCode: number | undefined
    if (proto === 'icmp') {
      icmpType = r.pick([8, 0, 3, 11])
      icmpCode = icmpType === 3 ? r.pick([1, 3, 13]) : 0
    } else {
      sport = r.int(1024, 65535)
      dport = r.chance(0.75) ? r.pick(PORTS) + (r.chance(0.1) ? r.int(1, 150) : 0) : r.int(1, 65535)
      if (proto === 'tcp') tcpFlags = ct === 'new' ? 0x02 : r.pick([0x10, 0x18, 0x11, 0x14])
    }
    const ttl = r.chance(0.3) ? r.int(1, 128) : undefined
    // Built as the command line's packet parser builds them: every field present.
    const packet = packetSpec({
      proto,
      src: { version: 4, words: [src], bits: 32 },
      dst: { version: 4, words: [dst], bits: 32 },
      srcText: str4(src),
      dstText: str4(dst),
      sport,
      dport,
      tcpFlags,
      icmpType,
      icmpCode,
      impliedCt: ct,
      ttl
    })
    let iif: string | undefined
    let oif: string | undefined
    if (path === 'forward') {
      const out = r.chance(0.7)
      iif = out ? 'eth1' : 'eth0'
      oif = out ? 'eth0' : 'eth1'
    } else if (path === 'input') iif = r.pick(['eth0', 'eth1', 'eth1', 'lo'])
    else oif = r.pick(['eth0', 'eth1'])
    const options: WalkOptions = { path, ct, iif, oif, stateful: undefined, local: undefined }
    return { packet, options }
  }
}
