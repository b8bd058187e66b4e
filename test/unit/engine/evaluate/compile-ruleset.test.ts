/**
 * The compiled fast path (decide) against the traced walk (walkNetfilter): verdict, reject type,
 * deciding rule or policy, uncertainty, conntrack state and DNAT target must be the same for
 * every packet. Packets are drawn from the values each ruleset names (its prefixes' first and
 * last addresses and their neighbours, port bounds, interfaces, marks, lengths, TTLs, ipset
 * members) and at random, over the kernel lab's random rulesets (alone and merged into chains
 * long enough to be indexed), the lab's fixed rulesets, the benchmark's rulesets and the corpus.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { iptablesRuleset, nftRuleset, rng, type Rng } from '../../../../bench/evaluate-rulesets'
import { decide, type Decision } from '../../../../src-main/engine/evaluate/compile-ruleset'
import type { PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import {
  walkNetfilter,
  type WalkOptions
} from '../../../../src-main/engine/evaluate/walk-netfilter'
import type { Cidr, CtState, Ruleset } from '../../../../src-main/engine/rulesets/model'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'
import { readRuleset } from '../../../../src-main/engine/rulesets/read-ruleset'
import { generateIptables, generateNft } from '../../../lab/random-rulesets'

const ROOT = resolve(import.meta.dirname, '../../../..')
const CORPUS = resolve(ROOT, '../shared/corpus')

/** Values a ruleset names, to aim packets at its rules. */
interface Harvest {
  v4: number[]
  v6: number[][]
  ports: number[]
  ifaces: string[]
  marks: number[]
  numbers: number[]
  macs: string[]
}

function harvest(rs: Ruleset): Harvest {
  const h: Harvest = {
    v4: [0x0a000002, 0x7f000001, 0xc0000201],
    v6: [
      [0, 0, 0, 1],
      [0x20010db8, 0, 0, 1]
    ],
    ports: [0, 22, 53, 80, 443, 65535],
    ifaces: ['eth0', 'eth1', 'lo', 'wg0'],
    marks: [0, 1],
    numbers: [0, 1, 64, 255],
    macs: ['02:00:00:00:00:01']
  }
  const cidr = (c: Cidr): void => {
    if (c.version === 4) {
      const bits = Math.min(32, c.bits)
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
      const lo = (c.words[0] & mask) >>> 0
      const hi = (lo | ~mask) >>> 0
      h.v4.push(lo, hi, (lo - 1) >>> 0, (hi + 1) >>> 0)
    } else {
      h.v6.push(c.words.map((w) => w >>> 0))
      h.v6.push(c.words.map((w, i) => (i === 3 ? (w + 1) >>> 0 : w >>> 0)))
    }
  }
  const ranges = (rs: [number, number][], into: number[]): void => {
    for (const [lo, hi] of rs) into.push(lo, hi, lo - 1, hi + 1)
  }
  for (const t of rs.tables)
    for (const c of t.chains)
      for (const r of c.rules) {
        for (const m of r.matches) {
          if (m.kind === 'saddr' || m.kind === 'daddr') m.cidrs.slice(0, 64).forEach(cidr)
          else if (m.kind === 'saddr-range' || m.kind === 'daddr-range') {
            cidr(m.from)
            cidr(m.to)
          } else if (m.kind === 'sport' || m.kind === 'dport') ranges(m.ranges, h.ports)
          else if (m.kind === 'iif' || m.kind === 'oif')
            h.ifaces.push(...m.names.map((n) => n.replace(/[+*]$/, '9')))
          else if (m.kind === 'mark' || m.kind === 'ct-mark') h.marks.push(...m.values)
          else if (m.kind === 'length' || m.kind === 'ttl' || m.kind === 'uid' || m.kind === 'gid')
            ranges(m.ranges, h.numbers)
          else if (m.kind === 'mac-source') h.macs.push(...m.macs)
        }
        if (r.action.kind === 'dnat' && r.action.to) h.v4.push(0x0a000105)
      }
  for (const s of rs.ipsets?.values() ?? [])
    for (const m of s.members) {
      m.cidrs.forEach(cidr)
      for (const p of m.ports) h.ports.push(p.port[0], p.port[1])
    }
  h.ports = h.ports.filter((p) => p >= 0 && p <= 65535)
  h.numbers = h.numbers.filter((n) => n >= 0)
  return h
}

const CTS: CtState[] = ['new', 'established', 'related', 'invalid', 'untracked']

/** A packet and walk options from the harvested values (mostly) or at random. */
function randomCase(r: Rng, h: Harvest): { packet: PacketSpec; options: WalkOptions } {
  const v6 = r.chance(0.15)
  const addr = (): Cidr =>
    v6
      ? {
          version: 6,
          words: r.chance(0.8) ? [...r.pick(h.v6)] : [r.int(0, 0xffffffff), 0, 0, r.int(0, 9)],
          bits: 128
        }
      : { version: 4, words: [r.chance(0.8) ? r.pick(h.v4) : r.int(0, 0xffffffff)], bits: 32 }
  const proto = v6
    ? r.pick(['tcp', 'udp', 'icmpv6'] as const)
    : r.pick(['tcp', 'tcp', 'udp', 'icmp'] as const)
  const port = (): number => (r.chance(0.8) ? r.pick(h.ports) : r.int(0, 65535))
  const num = (): number | undefined => (r.chance(0.5) ? r.pick(h.numbers) : undefined)
  const packet: PacketSpec = {
    proto,
    src: addr(),
    dst: addr(),
    srcText: 'x',
    dstText: 'y',
    impliedCt: r.pick(CTS)
  }
  if (proto === 'tcp' || proto === 'udp') {
    packet.sport = port()
    packet.dport = port()
    if (proto === 'tcp')
      packet.tcpFlags = r.pick([0x02, 0x12, 0x10, 0x04, 0x14, 0x11, 0x18, r.int(0, 255)])
  } else {
    packet.icmpType = r.pick([0, 3, 8, 11, 128, 129, 1, r.int(0, 255)])
    packet.icmpCode = r.pick([0, 1, 3, 4])
  }
  packet.len = num()
  packet.ttl = num()
  if (r.chance(0.5)) packet.mark = r.pick(h.marks)
  if (r.chance(0.5)) packet.ctMark = r.pick(h.marks)
  packet.uid = num()
  packet.gid = num()
  if (r.chance(0.5)) packet.srcMac = r.pick(h.macs)
  const path = r.pick(['input', 'forward', 'output'] as const)
  const options: WalkOptions = { path }
  if (r.chance(0.8)) options.ct = r.pick(CTS)
  if (r.chance(0.8)) options.iif = r.pick(h.ifaces)
  if (r.chance(0.8)) options.oif = r.pick(h.ifaces)
  if (r.chance(0.3)) options.stateful = r.pick(['unknown', 'match', 'miss'] as const)
  if (r.chance(0.3)) options.local = [packet.dst, { version: 4, words: [0x0a000001], bits: 24 }]
  return { packet, options }
}

/** What decide must reproduce of a walk (the traced walk's result, or decide's own). */
function outcome(w: Omit<Decision, 'uncertain'> & { uncertain: boolean }) {
  const { verdict, rejectWith, decidedBy, uncertain, ct, dnatTo } = w
  return { verdict, rejectWith, decidedBy, uncertain, ct, dnatTo }
}

/**
 * Compares decide with the traced walk on `count` packets; returns the first disagreement (with
 * its packet), or undefined. Also returns how many packets met an indexed decision, for sizing.
 */
function compare(rs: Ruleset, seed: number, count: number) {
  const h = harvest(rs)
  const r = rng(seed)
  for (let i = 0; i < count; i++) {
    const { packet, options } = randomCase(r, h)
    const want = outcome(walkNetfilter(rs, packet, options))
    const got = outcome(decide(rs, packet, options))
    if (JSON.stringify(got) !== JSON.stringify(want)) return { i, packet, options, want, got }
  }
  return undefined
}

/** The lab generator's iptables rulesets, merged into one INPUT chain (long enough to be indexed). */
function mergedIptables(seeds: number[]): string {
  const heads: string[] = []
  const rules: string[] = []
  seeds.forEach((seed, i) => {
    const text = generateIptables(seed).text.replace(/\bCHK_([AB])\b/g, `CHK_$1_${i}`)
    for (const line of text.split('\n')) {
      if (/^:CHK_/.test(line)) heads.push(line)
      else if (line.startsWith('-A ')) rules.push(line)
    }
  })
  const policy = seeds[0] % 2 ? 'DROP' : 'ACCEPT'
  return [
    '*filter',
    `:INPUT ${policy} [0:0]`,
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...heads,
    ...rules,
    'COMMIT',
    ''
  ].join('\n')
}

describe('decide: the compiled fast path agrees with the traced walk', () => {
  it('on the walk tests fixture, rule by rule', () => {
    const rs = readIptablesSave(
      'rules.v4',
      `*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.5:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 22 -s 192.168.0.0/16 -j ACCEPT
-A INPUT -p tcp -j web
-A INPUT -p udp --dport 53 -j REJECT
-A web -p tcp --dport 80 -j ACCEPT
-A FORWARD -d 10.0.1.5 -p tcp --dport 80 -j ACCEPT
COMMIT
`
    )
    const p = (proto: 'tcp' | 'udp', src: number, dport: number): PacketSpec => ({
      proto,
      src: { version: 4, words: [src], bits: 32 },
      dst: { version: 4, words: [0x0a000001], bits: 32 },
      srcText: 's',
      dstText: 'd',
      sport: 40000,
      dport,
      tcpFlags: 2,
      impliedCt: 'new'
    })
    const ssh = decide(rs, p('tcp', 0xc0a80105, 22), { path: 'input' })
    expect(ssh).toMatchObject({ verdict: 'accept', uncertain: false })
    expect(ssh.decidedBy).toMatchObject({ kind: 'rule', chain: 'INPUT', line: 11 })
    // Through the user chain.
    expect(decide(rs, p('tcp', 0x01020304, 80), { path: 'input' }).decidedBy).toMatchObject({
      chain: 'web',
      line: 14
    })
    // Nothing matches: the policy.
    expect(decide(rs, p('tcp', 0x01020304, 81), { path: 'input' })).toMatchObject({
      verdict: 'drop',
      decidedBy: { kind: 'policy', chain: 'INPUT', line: 6 }
    })
    expect(decide(rs, p('udp', 0x01020304, 53), { path: 'input' })).toMatchObject({
      verdict: 'reject'
    })
    // DNAT in prerouting rewrites the destination the forward chain sees.
    const fwd = decide(rs, p('tcp', 0x01020304, 8080), { path: 'forward' })
    expect(fwd).toMatchObject({ verdict: 'accept', dnatTo: '10.0.1.5:80' })
    expect(fwd.decidedBy).toMatchObject({ chain: 'FORWARD', line: 15 })
    // An unknown interface leaves an -i rule undecided: uncertain, as the traced walk says.
    const iif = readIptablesSave(
      'i',
      '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i eth1 -j DROP\nCOMMIT\n'
    )
    expect(decide(iif, p('tcp', 1, 22), { path: 'input' })).toMatchObject({
      verdict: 'accept',
      uncertain: true
    })
    expect(decide(iif, p('tcp', 1, 22), { path: 'input', iif: 'eth1' })).toMatchObject({
      verdict: 'drop',
      uncertain: false
    })
  })

  it('on the kernel lab random rulesets (fast-check: 150 iptables and 150 nft, 300 packets each)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), (seed, nft) => {
        const g = nft ? generateNft(seed) : generateIptables(seed)
        const rs = nft ? readNft('r.nft', g.text) : readIptablesSave('r.rules', g.text)
        expect(compare(rs, seed, 300)).toBeUndefined()
      }),
      { numRuns: 300, seed: 4242 }
    )
  })

  it('on lab rulesets merged into indexed chains (fast-check: 40 rulesets of 10-25 merged, 500 packets each)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 10, maxLength: 25 }),
        (seeds) => {
          const rs = readIptablesSave('merged.rules', mergedIptables(seeds))
          expect(rs.tables[0].chains[0].rules.length).toBeGreaterThanOrEqual(48)
          expect(compare(rs, seeds[0], 500)).toBeUndefined()
        }
      ),
      { numRuns: 40, seed: 77 }
    )
  })

  it('on the lab fixture rulesets (3,000 packets each)', () => {
    const dir = join(ROOT, 'test/lab/rulesets')
    const files = readdirSync(dir)
    expect(files.length).toBeGreaterThan(10)
    for (const f of files) {
      const rs = readRuleset(f, readFileSync(join(dir, f), 'utf8'))
      if (typeof rs === 'string') throw new Error(rs)
      expect(compare(rs, 1, 3000), f).toBeUndefined()
    }
  })

  it('on the benchmark rulesets, scaled down (indexed chains, the 2,000-element set)', () => {
    const ipt = readIptablesSave('bench.rules', iptablesRuleset(3, 1500))
    expect(compare(ipt, 3, 3000)).toBeUndefined()
    const nft = readNft('bench.nft', nftRuleset(3, 2000, 50))
    expect(compare(nft, 3, 3000)).toBeUndefined()
  })

  it('on an indexed inet chain mixing IPv4 and IPv6 prefixes, ranges and negations (3,000 packets)', () => {
    const r = rng(9)
    const lines: string[] = []
    for (let i = 0; i < 120; i++) {
      const parts: string[] = []
      const k = r.int(0, 5)
      if (k === 0) parts.push(`ip6 saddr 2001:db8:${r.int(0, 15).toString(16)}::/48`)
      else if (k === 1) parts.push(`ip saddr 10.${r.int(0, 15)}.0.0/16`)
      else if (k === 2) parts.push(`ip daddr 10.0.${r.int(0, 15)}.1-10.0.${r.int(0, 15)}.200`)
      else if (k === 3) parts.push(`ip6 daddr != 2001:db8::/32`)
      else if (k === 4) parts.push(`ip saddr != 10.${r.int(0, 15)}.0.0/16`)
      if (r.chance(0.6)) parts.push(`${r.pick(['tcp', 'udp'])} dport ${r.pick([22, 53, 80, 443])}`)
      else if (r.chance(0.3)) parts.push('meta l4proto icmpv6')
      parts.push(r.pick(['accept', 'drop', 'reject', 'counter', 'meta mark set 0x5']))
      lines.push(`\t\t${parts.join(' ')}`)
    }
    const text = [
      'table inet t {',
      '\tchain input {',
      '\t\ttype filter hook input priority filter; policy drop;',
      ...lines,
      '\t}',
      '}',
      ''
    ].join('\n')
    const rs = readNft('mixed.nft', text)
    expect(rs.tables[0].chains[0].rules.length).toBeGreaterThanOrEqual(100)
    expect(compare(rs, 9, 3000)).toBeUndefined()
  })

  it("across a classified chain's head and the classifier after it (rules 31, 32, 33; marks, jumps and DNAT in the head)", () => {
    // Chains of 80 rules: the first 32 are tested in turn, the rest through the classifier; what
    // the head did (a mark set, a jump returning, a DNAT) must hold for the rules after it.
    const pad = (chain: string, from: number, to: number): string[] =>
      Array.from({ length: to - from }, (_, i) => `-A ${chain} -s 198.51.${from + i}.0/24 -j DROP`)
    const forward = [
      '-A FORWARD -p udp --dport 53 -j MARK --set-mark 0x1',
      '-A FORWARD -p tcp --dport 22 -j sub',
      '-A FORWARD -p tcp --dport 23 -j sub',
      ...pad('FORWARD', 3, 31),
      '-A FORWARD -p tcp --dport 31 -j ACCEPT',
      '-A FORWARD -p tcp --dport 32 -j REJECT --reject-with tcp-reset',
      '-A FORWARD -p tcp --dport 33 -j DROP',
      '-A FORWARD -m mark --mark 0x1 -j REJECT',
      '-A FORWARD -d 10.0.1.5 -p tcp --dport 80 -j ACCEPT',
      '-A FORWARD -p tcp --dport 22 -j DROP',
      ...pad('FORWARD', 37, 79),
      '-A FORWARD -p tcp -j ACCEPT'
    ]
    const prerouting = [
      ...Array.from(
        { length: 20 },
        (_, i) =>
          `-A PREROUTING -d 203.0.113.${i + 1}/32 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.${i + 1}:80`
      ),
      ...Array.from(
        { length: 40 },
        (_, i) =>
          `-A PREROUTING -d 203.0.113.${i + 100}/32 -p tcp --dport 443 -j DNAT --to-destination 10.0.2.${i + 1}`
      )
    ]
    const rs = readIptablesSave(
      'head.rules',
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ...prerouting,
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':sub - [0:0]',
        '-A sub -p tcp --dport 23 -j ACCEPT',
        '-A sub -j RETURN',
        ...forward,
        'COMMIT',
        ''
      ].join('\n')
    )
    expect(rs.tables[1].chains.find((c) => c.name === 'FORWARD')!.rules.length).toBe(80)
    const packet = (proto: 'tcp' | 'udp', dst: number, dport: number): PacketSpec => ({
      proto,
      src: { version: 4, words: [0x0a000002], bits: 32 },
      dst: { version: 4, words: [dst], bits: 32 },
      srcText: 's',
      dstText: 'd',
      sport: 40000,
      dport,
      tcpFlags: proto === 'tcp' ? 2 : undefined,
      impliedCt: 'new'
    })
    // The deciding rule: chain and index, or undefined for the policy.
    const cases: [PacketSpec, string, number | undefined][] = [
      [packet('tcp', 0x0a000009, 31), 'FORWARD', 31],
      [packet('tcp', 0x0a000009, 32), 'FORWARD', 32],
      [packet('tcp', 0x0a000009, 33), 'FORWARD', 33],
      // The jump returns, and a rule after the head decides.
      [packet('tcp', 0x0a000009, 22), 'FORWARD', 36],
      [packet('tcp', 0x0a000009, 23), 'sub', 0],
      // The mark set in the head, read past it.
      [packet('udp', 0x0a000009, 53), 'FORWARD', 34],
      // DNATed in the nat chain's head and past it, then met past the filter chain's head.
      [packet('tcp', 0xcb007105, 8080), 'FORWARD', 35],
      [packet('tcp', 0xcb007164, 443), 'FORWARD', 79],
      [packet('udp', 0x0a000009, 54), 'FORWARD', undefined]
    ]
    const options: WalkOptions = { path: 'forward', iif: 'eth0', oif: 'eth1' }
    for (const [p, chain, at] of cases) {
      const got = outcome(decide(rs, p, options))
      expect(got).toEqual(outcome(walkNetfilter(rs, p, options)))
      const rules = rs.tables[1].chains.find((c) => c.name === chain)!.rules
      expect([p.dport, got.decidedBy?.kind, got.decidedBy?.chain, got.decidedBy?.line]).toEqual([
        p.dport,
        at === undefined ? 'policy' : 'rule',
        chain,
        at === undefined ? got.decidedBy?.line : rules[at].source.line
      ])
    }
    expect(compare(rs, 5, 3000)).toBeUndefined()
  })

  it('on port sets of more than 16 ranges (a bitmap) and interface names ending in * (3,000 packets)', () => {
    const r = rng(11)
    const ports = (): string => {
      const set = new Set<string>()
      while (set.size < 24) {
        const p = r.int(0, 65500)
        set.add(r.chance(0.6) ? String(p) : `${p}-${p + r.int(1, 30)}`)
      }
      if (r.chance(0.5)) set.add('65535')
      if (r.chance(0.5)) set.add('0-3')
      return `{ ${[...set].join(', ')} }`
    }
    const lines = Array.from({ length: 60 }, () => {
      const parts: string[] = []
      if (r.chance(0.4))
        parts.push(`iifname ${r.chance(0.3) ? '!= ' : ''}{ "eth*", "wg${r.int(0, 2)}", "lo" }`)
      if (r.chance(0.3)) parts.push(`oifname ${r.chance(0.3) ? '!= ' : ''}"br-*"`)
      const proto = r.pick(['tcp', 'udp'])
      parts.push(`${proto} ${r.pick(['sport', 'dport'])} ${r.chance(0.3) ? '!= ' : ''}${ports()}`)
      parts.push(r.pick(['accept', 'drop', 'reject', 'counter']))
      return `\t\t${parts.join(' ')}`
    })
    const text = [
      'table inet t {',
      '\tchain input {',
      '\t\ttype filter hook input priority filter; policy drop;',
      ...lines.slice(0, 20),
      '\t}',
      '\tchain forward {',
      '\t\ttype filter hook forward priority filter; policy accept;',
      ...lines,
      '\t}',
      '}',
      ''
    ].join('\n')
    const rs = readNft('ports.nft', text)
    const matches = rs.tables[0].chains.flatMap((c) => c.rules.flatMap((x) => x.matches))
    expect(matches.some((m) => m.kind === 'dport' && m.negate && m.ranges.length > 16)).toBe(true)
    expect(matches.some((m) => m.kind === 'iif' && m.names.includes('eth*'))).toBe(true)
    expect(compare(rs, 11, 3000)).toBeUndefined()
  })

  it('across hooks whose chains hold only log and counter rules, and the TTL lowered between hooks (2,000 packets each)', () => {
    const chain = (name: string, spec: string, body: string[]): string[] => [
      `\tchain ${name} {`,
      `\t\t${spec}`,
      ...body.map((l) => `\t\t${l}`),
      '\t}'
    ]
    const inert = ['counter', 'log prefix "x: "', 'ip ttl 0 log']
    const ttl = ['ip ttl 0 drop', 'ip ttl 1 reject', 'ip ttl 63 accept']
    const variants: string[][][] = [
      // Only a prerouting chain: a forwarded packet's TTL is lowered after every chain.
      [chain('pre', 'type filter hook prerouting priority filter; policy accept;', inert)],
      [chain('pre', 'type filter hook prerouting priority filter; policy drop;', inert)],
      // No forward chain: the TTL is lowered before the postrouting chains.
      [
        chain('pre', 'type nat hook prerouting priority dstnat; policy accept;', inert),
        chain('post', 'type filter hook postrouting priority filter; policy accept;', ttl)
      ],
      [
        chain('pre', 'type filter hook prerouting priority filter; policy accept;', ttl),
        chain('fwd', 'type filter hook forward priority filter; policy drop;', inert),
        chain('fwd2', 'type filter hook forward priority 10; policy accept;', ttl),
        chain('in', 'type filter hook input priority filter; policy accept;', []),
        chain('out', 'type filter hook output priority filter; policy drop;', inert),
        chain('post', 'type nat hook postrouting priority srcnat; policy accept;', inert)
      ],
      [
        chain('in', 'type filter hook input priority filter; policy drop;', inert),
        chain('in2', 'type filter hook input priority 10; policy accept;', ['ip ttl 64 accept']),
        chain('fwd', 'type filter hook forward priority filter; policy accept;', [])
      ]
    ]
    variants.forEach((chains, i) => {
      const rs = readNft('hooks.nft', ['table ip t {', ...chains.flat(), '}', ''].join('\n'))
      expect(compare(rs, 20 + i, 2000), `variant ${i}`).toBeUndefined()
    })
  })

  it('on chains whose every rule names the protocol, ports or addresses (a guard before the chain; 40 rulesets, 1,500 packets each)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed)
      const host = (): string =>
        `${r.pick(['10.0', '10.1', '198.51'])}.${r.int(0, 3)}.${r.int(1, 9)}`
      const prefix = (): string => (r.chance(0.5) ? host() : `${host()}/${r.pick([24, 30, 32])}`)
      const port = (): string =>
        r.chance(0.7)
          ? String(r.pick([22, 53, 80, 443]))
          : `${r.int(1000, 1010)}:${r.int(1010, 1020)}`
      // Each condition named by every rule (a guard), by most (none), or by every rule, negated
      // in some (none).
      const plan = () => r.pick(['all', 'all', 'most', 'negated'] as const)
      const rule = (chain: string, i: number, how: Record<string, string>): string => {
        const named = (k: string): '' | '! ' | undefined =>
          how[k] === 'all' || (how[k] === 'most' && i % 5 !== 0)
            ? ''
            : how[k] === 'negated'
              ? i % 3 === 0
                ? '! '
                : ''
              : undefined
        const parts = [`-A ${chain}`]
        const proto = named('proto')
        const p = r.pick(['tcp', 'udp', 'tcp', 'icmp'])
        const ported = proto === '' && p !== 'icmp'
        if (proto !== undefined) parts.push(`${proto}-p ${p}`)
        if (r.chance(0.2)) parts.push(`-i ${r.pick(['eth0', 'eth1'])}`)
        for (const [k, flag] of [
          ['src', '-s'],
          ['dst', '-d']
        ] as const) {
          const n = named(k)
          if (n !== undefined) parts.push(`${n}${flag} ${prefix()}`)
        }
        if (ported) {
          const d = named('dport')
          if (d !== undefined) parts.push(`-m ${p} ${d}--dport ${port()}`)
          else if (named('sport') !== undefined) parts.push(`-m ${p} --sport ${port()}`)
        }
        if (r.chance(0.1)) parts.push('-m conntrack --ctstate NEW')
        const t = r.next()
        if (chain === 'PREROUTING')
          parts.push(
            t < 0.8
              ? `-j DNAT --to-destination ${host()}${ported ? `:${r.pick([80, 8080])}` : ''}`
              : '-j ACCEPT'
          )
        else
          parts.push(
            t < 0.3
              ? '-j ACCEPT'
              : t < 0.5
                ? '-j DROP'
                : t < 0.6
                  ? '-j REJECT'
                  : t < 0.7
                    ? '-j RETURN'
                    : t < 0.8
                      ? '-j MARK --set-mark 1'
                      : t < 0.9
                        ? '-j LOG'
                        : '-j inner'
          )
        return parts.join(' ')
      }
      const how = () => ({ proto: plan(), src: plan(), dst: plan(), dport: plan(), sport: plan() })
      const rules = (chain: string, n: number): string[] => {
        const h = how()
        return Array.from({ length: n }, (_, i) => rule(chain, i, h))
      }
      const text = [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ...rules('PREROUTING', r.int(8, 60)),
        'COMMIT',
        '*filter',
        `:INPUT ${r.pick(['ACCEPT', 'DROP'])} [0:0]`,
        `:FORWARD ${r.pick(['ACCEPT', 'DROP'])} [0:0]`,
        ':OUTPUT ACCEPT [0:0]',
        ':inner - [0:0]',
        ...rules('INPUT', r.int(8, 60)),
        ...rules('FORWARD', r.int(8, 60)),
        ...rules('inner', r.int(8, 20)).filter((l) => !l.endsWith('-j inner')),
        'COMMIT',
        ''
      ].join('\n')
      const rs = readIptablesSave('guard.v4', text)
      expect(compare(rs, seed, 1500), `seed ${seed}`).toBeUndefined()
    }
    // IPv4 and IPv6 addresses in one chain: the guard leaves IPv6 packets to the rules.
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed)
      const dir = r.pick(['saddr', 'daddr'])
      const lines = Array.from({ length: r.int(8, 40) }, () => {
        const addr = r.chance(0.5)
          ? `ip ${dir} 10.${r.int(0, 3)}.${r.int(0, 3)}.0/${r.pick([24, 30])}`
          : `ip6 ${dir} 2001:db8::${r.int(1, 9)}/${r.pick([126, 128])}`
        const l4 = r.chance(0.7) ? `${r.pick(['tcp', 'udp'])} dport ${r.pick([22, 53, 80])} ` : ''
        return `\t\t${addr} ${l4}${r.pick(['accept', 'drop', 'reject', 'counter'])}`
      })
      const text = [
        'table inet t {',
        '\tchain forward {',
        `\t\ttype filter hook forward priority filter; policy ${r.pick(['accept', 'drop'])};`,
        ...lines,
        '\t}',
        '}',
        ''
      ].join('\n')
      expect(compare(readNft('guard.nft', text), seed, 1500), `nft seed ${seed}`).toBeUndefined()
    }
  })

  it('on every ruleset of the corpus (iptables and nft, 2,000 packets each)', () => {
    let rulesets = 0
    for (const sub of ['iptables', 'nft']) {
      for (const f of readdirSync(join(CORPUS, sub))) {
        const rs = readRuleset(f, readFileSync(join(CORPUS, sub, f), 'utf8'))
        if (typeof rs === 'string' || rs.tables.every((t) => t.chains.length === 0)) continue
        rulesets++
        expect(compare(rs, rulesets, 2000), `${sub}/${f}`).toBeUndefined()
      }
    }
    expect(rulesets).toBeGreaterThan(100)
  })
})
