/**
 * Seeded random iptables-save rulesets (filter table, INPUT path) and packets derived from their
 * rules, for comparing `verdict trace` with the kernel (random-rulesets.test.ts).
 *
 * Addresses: the firewall owns 10.0.0.2 and 10.0.0.3 (the destinations); senders are drawn from
 * 10.1.0.0/16, 10.2.0.0/15, 172.16.0.0/12 and 192.0.2.0/24. Nothing uses the harness's transit
 * ranges (198.18.1.0/24, 198.18.2.0/24). Packets arrive on eth0.
 */
import type { CtState, PacketCase } from './kernel-verdicts'

// ---------------------------------------------------------------------------------------------
// PRNG (mulberry32)

export interface Rng {
  next(): number
  int(lo: number, hi: number): number
  pick<T>(items: readonly T[]): T
  chance(p: number): boolean
}

export function rng(seed: number): Rng {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1))
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)],
    chance: (p: number): boolean => next() < p
  }
}

// ---------------------------------------------------------------------------------------------
// Addresses

interface Net {
  /** As the rule writes it. */
  text: string
  base: number
  bits: number
}

const ip4 = (s: string): number => s.split('.').reduce((n, o) => n * 256 + Number(o), 0)
const str4 = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
const maskOf = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0)
const inNet = (addr: string, n: Net): boolean =>
  (ip4(addr) & maskOf(n.bits)) >>> 0 === (n.base & maskOf(n.bits)) >>> 0

const net = (text: string, base: string, bits: number): Net => ({ text, base: ip4(base), bits })

/** Source networks, in the forms a rule may write them (CIDR, dotted mask, bare host). */
const SRC_NETS: Net[] = [
  net('10.1.0.0/16', '10.1.0.0', 16),
  net('10.1.0.0/255.255.0.0', '10.1.0.0', 16),
  net('10.1.2.0/24', '10.1.2.0', 24),
  net('10.1.2.128/25', '10.1.2.128', 25),
  net('10.1.2.3/32', '10.1.2.3', 32),
  net('10.1.2.3', '10.1.2.3', 32),
  net('10.2.0.0/15', '10.2.0.0', 15),
  net('10.2.0.0/255.254.0.0', '10.2.0.0', 15),
  net('172.16.0.0/12', '172.16.0.0', 12),
  net('192.0.2.0/24', '192.0.2.0', 24)
]

const DST_NETS: Net[] = [
  net('10.0.0.2/32', '10.0.0.2', 32),
  net('10.0.0.3/32', '10.0.0.3', 32),
  net('10.0.0.0/24', '10.0.0.0', 24),
  net('10.0.0.2/255.255.255.254', '10.0.0.2', 31)
]

const DSTS = ['10.0.0.2', '10.0.0.3']

/** Prefixes senders are drawn from (the last octet is random). */
const SRC_PREFIXES = [
  '10.1.2',
  '10.1.7',
  '10.2.3',
  '10.3.4',
  '172.16.5',
  '172.31.9',
  '192.0.2',
  '10.4.4'
]

// ---------------------------------------------------------------------------------------------
// Rules

type Proto = 'tcp' | 'udp' | 'icmp'

interface Match {
  src?: { net: Net; neg: boolean }
  dst?: { net: Net; neg: boolean }
  iif?: { name: string; neg: boolean }
  proto?: Proto
  /** --dport N or N:M. */
  dport?: [number, number]
  /** -m multiport --dports. */
  dports?: Array<[number, number]>
  syn?: 'syn' | 'flags'
  ct?: Array<'NEW' | 'ESTABLISHED' | 'RELATED'>
  /** -m ttl --ttl-eq/lt/gt N; nft ip ttl [<|>] N. */
  ttl?: { op: 'eq' | 'lt' | 'gt'; value: number }
  /** -m mark [!] --mark V/M; nft meta mark & M [!=|==] V. */
  mark?: { value: number; mask: number; neg: boolean }
}

interface Rule {
  chain: string
  m: Match
  target: string
}

const PORTS = [22, 25, 53, 80, 123, 443, 514, 3306, 5432, 8080]
const RANGES: Array<[number, number]> = [
  [8000, 8099],
  [1000, 2000],
  [20, 25],
  [5000, 5999]
]
const IFACES = [
  { name: 'eth0', neg: false },
  { name: 'eth+', neg: false },
  { name: 'eth1', neg: false },
  { name: 'wg+', neg: false },
  { name: 'eth1', neg: true },
  { name: 'eth0', neg: true }
]

const portText = ([lo, hi]: [number, number]): string => (lo === hi ? `${lo}` : `${lo}:${hi}`)

function renderMatch(m: Match): string {
  const out: string[] = []
  if (m.src) out.push(`${m.src.neg ? '! ' : ''}-s ${m.src.net.text}`)
  if (m.dst) out.push(`${m.dst.neg ? '! ' : ''}-d ${m.dst.net.text}`)
  if (m.iif) out.push(`${m.iif.neg ? '! ' : ''}-i ${m.iif.name}`)
  if (m.proto) out.push(`-p ${m.proto}`)
  if (m.proto === 'tcp' || m.proto === 'udp') {
    if (m.dport || m.syn) {
      out.push(`-m ${m.proto}`)
      if (m.dport) out.push(`--dport ${portText(m.dport)}`)
      if (m.syn === 'syn') out.push('--syn')
      if (m.syn === 'flags') out.push('--tcp-flags FIN,SYN,RST,ACK SYN')
    }
    if (m.dports) out.push(`-m multiport --dports ${m.dports.map(portText).join(',')}`)
  }
  if (m.ct) out.push(`-m conntrack --ctstate ${m.ct.join(',')}`)
  if (m.ttl) out.push(`-m ttl --ttl-${m.ttl.op} ${m.ttl.value}`)
  if (m.mark)
    out.push(`-m mark ${m.mark.neg ? '! ' : ''}--mark ${hex(m.mark.value)}/${hex(m.mark.mask)}`)
  return out.join(' ')
}

const hex = (n: number): string => `0x${n.toString(16)}`

function renderRule(r: Rule): string {
  const m = renderMatch(r.m)
  return `-A ${r.chain}${m ? ` ${m}` : ''} ${r.target}`
}

function randomMatch(r: Rng): Match {
  const m: Match = {}
  if (r.chance(0.35)) m.src = { net: r.pick(SRC_NETS), neg: r.chance(0.3) }
  if (r.chance(0.15)) m.dst = { net: r.pick(DST_NETS), neg: r.chance(0.3) }
  if (r.chance(0.15)) m.iif = r.pick(IFACES)
  if (r.chance(0.8)) m.proto = r.pick(['tcp', 'tcp', 'udp', 'icmp'] as const)
  if (m.proto === 'tcp' || m.proto === 'udp') {
    const kind = r.int(0, 9)
    if (kind < 5) m.dport = [r.pick(PORTS), 0]
    else if (kind < 6) m.dport = r.pick(RANGES)
    else if (kind < 8) {
      const n = r.int(2, 4)
      const list: Array<[number, number]> = []
      for (let i = 0; i < n; i++) {
        const p: [number, number] = r.chance(0.25) ? r.pick(RANGES) : [r.pick(PORTS), 0]
        if (!list.some((q) => q[0] === p[0])) list.push(p)
      }
      m.dports = list.map(([lo, hi]) => [lo, hi === 0 ? lo : hi])
    }
    if (m.dport && m.dport[1] === 0) m.dport = [m.dport[0], m.dport[0]]
    if (m.proto === 'tcp' && r.chance(0.2)) m.syn = r.chance(0.5) ? 'syn' : 'flags'
  }
  if (r.chance(0.25)) {
    m.ct = r.pick([['NEW'], ['ESTABLISHED'], ['RELATED', 'ESTABLISHED'], ['NEW', 'ESTABLISHED']])
  }
  if (r.chance(0.12)) m.ttl = { op: r.pick(['eq', 'lt', 'gt'] as const), value: r.pick(TTLS) }
  if (r.chance(0.12)) {
    const mask = r.pick([0xff, 0xf0, 0xffffffff])
    m.mark = { value: r.pick(MARKS) & mask, mask, neg: r.chance(0.3) }
  }
  return m
}

/** TTLs and marks rules test and packets carry. */
const TTLS = [1, 2, 5, 32, 63, 64, 128, 200]
const MARKS = [0x0, 0x1, 0x10, 0x11, 0x25, 0xf0, 0x101]

function randomTarget(r: Rng, m: Match, inChain: boolean, jumps: string[]): string {
  const options = ['-j ACCEPT', '-j ACCEPT', '-j DROP', '-j DROP', '-j REJECT', '-j LOG']
  if (inChain) options.push('-j RETURN', '-j RETURN')
  for (const c of jumps) options.push(`-j ${c}`, `-j ${c}`, ...(inChain ? [] : [`-g ${c}`]))
  const t = r.pick(options)
  if (t !== '-j REJECT') return t
  const withs = ['', ' --reject-with icmp-port-unreachable']
  if (m.proto === 'tcp') withs.push(' --reject-with tcp-reset', ' --reject-with tcp-reset')
  return `${t}${r.pick(withs)}`
}

// ---------------------------------------------------------------------------------------------
// Packets

interface Pkt {
  proto: Proto
  src: string
  dst: string
  sport: number
  dport: number
  est: boolean
  ttl: number
  mark: number
}

const SERVER_PORTS = [80, 443, 53, 8443, 993]

function pickAddr(r: Rng, want?: { net: Net; neg: boolean }): string | undefined {
  for (let i = 0; i < 60; i++) {
    const a =
      i % 7 === 0 && want && !want.neg
        ? str4(want.net.base + (want.net.bits < 32 ? 1 : 0))
        : `${r.pick(SRC_PREFIXES)}.${r.int(1, 254)}`
    if (!want || inNet(a, want.net) !== want.neg) return a
  }
  return undefined
}

/** A packet meant to satisfy `m` (not always possible: then the next rule or the policy decides). */
function packetFor(r: Rng, m: Match, index: number): Pkt | undefined {
  const proto: Proto = m.proto ?? r.pick(['tcp', 'udp', 'icmp'] as const)
  const src = pickAddr(r, m.src)
  const dst = r.pick(DSTS.filter((d) => !m.dst || inNet(d, m.dst.net) !== m.dst.neg).concat(DSTS))
  if (!src) return undefined
  let est = r.chance(0.3)
  if (m.ct?.length === 1) est = m.ct[0] === 'ESTABLISHED'
  if (m.syn) est = false
  let dport = r.pick(PORTS)
  const range = m.dport ?? (m.dports ? r.pick(m.dports) : undefined)
  if (range) dport = r.int(range[0], range[1])
  // Sometimes just off a rule's edge.
  if (range && r.chance(0.15)) dport = range[1] + 1
  const sport = est ? r.pick(SERVER_PORTS) : 40000 + index
  // Facts meant to satisfy the rule's ttl and mark tests, and now and then just not.
  let ttl = r.pick(TTLS)
  if (m.ttl) {
    const v = m.ttl.value
    ttl =
      m.ttl.op === 'eq'
        ? v
        : m.ttl.op === 'lt'
          ? Math.max(1, v - r.int(1, 3))
          : Math.min(255, v + r.int(1, 3))
    if (r.chance(0.2)) ttl = Math.min(255, v + (m.ttl.op === 'gt' ? 0 : 1))
  }
  let mark = r.pick(MARKS)
  if (m.mark && !m.mark.neg && r.chance(0.8)) mark = (mark & ~m.mark.mask) | m.mark.value
  return { proto, src, dst, sport, dport, est, ttl: Math.max(1, ttl), mark: mark >>> 0 }
}

function packetCase(p: Pkt, facts: boolean): PacketCase {
  const f = facts ? ` ttl=${p.ttl} mark=${hex(p.mark)}` : ''
  if (p.proto === 'tcp')
    return {
      packet: `tcp ${p.src}:${p.sport} > ${p.dst}:${p.dport} ${p.est ? 'syn-ack' : 'syn'}${f}`
    }
  if (p.proto === 'udp')
    return {
      packet: `udp ${p.src}:${p.sport} > ${p.dst}:${p.dport}${f}`,
      ct: p.est ? 'established' : 'new'
    }
  return { packet: `icmp ${p.src} > ${p.dst} ${p.est ? 'echo-reply' : 'echo-request'}${f}` }
}

// ---------------------------------------------------------------------------------------------
// Rulesets

export interface Generated {
  seed: number
  text: string
  packets: Array<PacketCase & { ct: CtState }>
}

const CHAIN_NAMES = ['CHK_A', 'CHK_B']

export function generateIptables(seed: number): Generated {
  const r = rng(seed)
  const policy = r.pick(['ACCEPT', 'DROP'])
  const chains = CHAIN_NAMES.slice(0, r.int(0, 2))
  const total = r.int(3, 15)
  const rules: Rule[] = []
  const chainOf = (): string => (chains.length > 0 && r.chance(0.35) ? r.pick(chains) : 'INPUT')
  for (let i = 0; i < total; i++) {
    const chain = chainOf()
    const later = chain === 'INPUT' ? chains : chains.slice(chains.indexOf(chain) + 1)
    let m: Match
    const earlier = rules.filter((x) => x.chain === chain)
    if (earlier.length > 0 && r.chance(0.25)) {
      // A shadowed rule: an earlier rule's matches (perhaps narrowed) with another target.
      m = { ...r.pick(earlier).m }
      if ((m.proto === 'tcp' || m.proto === 'udp') && !m.dport && !m.dports && r.chance(0.5))
        m.dport = [r.pick(PORTS), 0]
      if (m.dport && m.dport[1] === 0) m.dport = [m.dport[0], m.dport[0]]
    } else m = randomMatch(r)
    rules.push({ chain, m, target: randomTarget(r, m, chain !== 'INPUT', later) })
  }
  // Every user chain is reached from INPUT.
  for (const c of chains) {
    if (!rules.some((x) => x.chain !== c && new RegExp(`-[jg] ${c}$`).test(x.target))) {
      const m = randomMatch(r)
      rules.splice(r.int(0, rules.length), 0, {
        chain: 'INPUT',
        m,
        target: r.chance(0.6) ? `-j ${c}` : `-g ${c}`
      })
    }
  }
  const lines = [
    `# generated: seed ${seed}`,
    '*filter',
    `:INPUT ${policy} [0:0]`,
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...chains.map((c) => `:${c} - [0:0]`),
    ...rules.map(renderRule),
    'COMMIT',
    ''
  ]

  return { seed, text: lines.join('\n'), packets: packetsFor(r, rules) }
}

/**
 * Packets, each aimed at a rule, with the harness's constraints (distinct trace matches; the
 * firewall's local ports bound by established cases used once).
 */
function packetsFor(r: Rng, rules: Array<{ m: Match }>): Array<PacketCase & { ct: CtState }> {
  const want = r.int(4, 8)
  const pkts: Pkt[] = []
  const srcs = new Set<string>()
  const bound = new Map<string, boolean>()
  for (let tries = 0; pkts.length < want && tries < 80; tries++) {
    const target = r.pick(rules)
    const p = packetFor(r, target.m, pkts.length)
    if (!p) continue
    const icmpKey = `${p.proto} ${p.src} ${p.dst}`
    if (p.proto === 'icmp' && srcs.has(icmpKey)) continue
    const bind = `${p.proto} ${p.dst} ${p.dport}`
    if (p.proto !== 'icmp') {
      const prior = bound.get(bind)
      if (prior !== undefined && (prior || p.est)) continue
      bound.set(bind, p.est)
    }
    if (p.proto === 'icmp') srcs.add(icmpKey)
    p.sport = p.est ? p.sport : 40000 + pkts.length
    pkts.push(p)
  }
  // Packets carry their TTL and mark whenever a rule tests them (else those rules are undecidable).
  const facts = rules.some((x) => x.m.ttl || x.m.mark)
  return pkts.map((p) => ({
    ...packetCase(p, facts),
    ct: (p.est ? 'established' : 'new') as CtState
  }))
}

// ---------------------------------------------------------------------------------------------
// nft inet rulesets

const nftNet = (n: Net): string => {
  const base = str4((n.base & maskOf(n.bits)) >>> 0)
  return n.bits === 32 ? base : `${base}/${n.bits}`
}

const nftPorts = (ps: Array<[number, number]>): string =>
  ps.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(', ')

function renderNftMatch(m: Match, vmap: boolean): string {
  const out: string[] = []
  if (m.src) out.push(`ip saddr ${m.src.neg ? '!= ' : ''}${nftNet(m.src.net)}`)
  if (m.dst) out.push(`ip daddr ${m.dst.neg ? '!= ' : ''}${nftNet(m.dst.net)}`)
  if (m.iif) out.push(`iifname ${m.iif.neg ? '!= ' : ''}"${m.iif.name.replace('+', '*')}"`)
  const l4 = m.proto === 'tcp' || m.proto === 'udp'
  if (m.proto && !(l4 && (m.dport || m.dports))) out.push(`meta l4proto ${m.proto}`)
  if (l4 && m.dport) out.push(`${m.proto} dport ${nftPorts([m.dport])}`)
  if (l4 && m.dports && !vmap) out.push(`${m.proto} dport { ${nftPorts(m.dports)} }`)
  if (m.syn) out.push('tcp flags & (fin | syn | rst | ack) == syn')
  if (m.ct) out.push(`ct state ${m.ct.map((s) => s.toLowerCase()).join(',')}`)
  if (m.ttl)
    out.push(`ip ttl ${m.ttl.op === 'eq' ? '' : m.ttl.op === 'lt' ? '< ' : '> '}${m.ttl.value}`)
  if (m.mark)
    out.push(
      m.mark.mask === 0xffffffff
        ? `meta mark ${m.mark.neg ? '!= ' : ''}${hex(m.mark.value)}`
        : `meta mark & ${hex(m.mark.mask)} ${m.mark.neg ? '!=' : '=='} ${hex(m.mark.value)}`
    )
  return out.join(' ')
}

export function generateNft(seed: number): Generated {
  const r = rng(seed)
  const policy = r.pick(['accept', 'drop'])
  const chains = ['chk_a', 'chk_b'].slice(0, r.int(0, 2))
  const total = r.int(3, 12)
  const rules: Array<{ chain: string; m: Match; text: string }> = []
  for (let i = 0; i < total; i++) {
    const chain = chains.length > 0 && r.chance(0.35) ? r.pick(chains) : 'input'
    const later = chain === 'input' ? chains : chains.slice(chains.indexOf(chain) + 1)
    const m = randomMatch(r)
    // Dotted masks and bare hosts are iptables spellings: nft writes prefixes.
    const l4 = m.proto === 'tcp' || m.proto === 'udp'
    if (l4 && !m.dport && r.chance(0.3)) {
      const ports = m.dports ?? [[r.pick(PORTS), r.pick(PORTS)] as [number, number]]
      const single = ports.filter(([lo, hi]) => lo === hi)
      const entries = (single.length > 0 ? single : [[22, 22] as [number, number]]).map(
        ([p]) => `${p} : ${r.pick(['accept', 'drop', ...later.map((c) => `jump ${c}`)])}`
      )
      m.dports = single.length > 0 ? single : [[22, 22]]
      const text = `${renderNftMatch(m, true)} ${m.proto} dport vmap { ${entries.join(', ')} }`
      rules.push({ chain, m, text: text.trim() })
      continue
    }
    const targets = ['accept', 'accept', 'drop', 'drop', 'reject', 'log']
    if (m.proto === 'tcp') targets.push('reject with tcp reset')
    if (chain !== 'input') targets.push('return')
    for (const c of later) targets.push(`jump ${c}`, ...(chain === 'input' ? [`goto ${c}`] : []))
    const match = renderNftMatch(m, false)
    rules.push({ chain, m, text: `${match ? `${match} ` : ''}${r.pick(targets)}` })
  }
  for (const c of chains) {
    if (!rules.some((x) => x.chain !== c && x.text.includes(` ${c}`)))
      rules.splice(r.int(0, rules.length), 0, { chain: 'input', m: {}, text: `jump ${c}` })
  }
  const body = (c: string): string[] =>
    rules.filter((x) => x.chain === c).map((x) => `\t\t${x.text}`)
  const lines = [
    `# generated: seed ${seed}`,
    'table inet filter {',
    '\tchain input {',
    `\t\ttype filter hook input priority filter; policy ${policy};`,
    ...body('input'),
    '\t}',
    ...chains.flatMap((c) => [`\tchain ${c} {`, ...body(c), '\t}']),
    '}',
    ''
  ]
  return { seed, text: lines.join('\n'), packets: packetsFor(r, rules) }
}
