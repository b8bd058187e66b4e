/**
 * The chain classifier (chain-index.ts, field-slots.ts) on generated chains made to stress it:
 * nested and overlapping prefixes, address ranges, port ranges and lists, negations, repeated
 * conditions, shadowed rules, interface wildcards, conntrack states (NAT ones included), large
 * sets, IPv4 and IPv6 together, and rules it cannot decide (TCP flags, ICMP types, marks,
 * lengths, limits) mixed with logs, marks, jumps, gotos and returns.
 *
 * Two checks: the classifier itself, rule by rule (a rule it rules out has a condition that
 * fails; a rule it decides holds exactly when its residual conditions do, as matchRule says), and
 * decide against the traced walk on every packet.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rng, type Rng } from '../../../../bench/evaluate-rulesets'
import { buildChainIndex, keyedRow } from '../../../../src-main/engine/evaluate/chain-index'
import { decide } from '../../../../src-main/engine/evaluate/compile-ruleset'
import { buildFields, fieldSlot } from '../../../../src-main/engine/evaluate/field-slots'
import { slot } from '../../../../src-main/engine/evaluate/intervals'
import { matchRule, type MatchContext } from '../../../../src-main/engine/evaluate/match-rule'
import type { PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import {
  decisive,
  walkNetfilter,
  type WalkOptions
} from '../../../../src-main/engine/evaluate/walk-netfilter'
import type { CtState, Rule, Ruleset } from '../../../../src-main/engine/rulesets/model'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'

/** Addresses inside 10.0.0.0/12 mostly, so that prefixes nest and overlap. */
const ip4 = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')
const near = (r: Rng): number => ((10 << 24) | r.int(0, 0xfffff)) >>> 0

function prefix(r: Rng): string {
  const bits = r.pick([8, 12, 16, 20, 24, 28, 30, 32])
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
  return `${ip4((near(r) & mask) >>> 0)}/${bits}`
}

function portRange(r: Rng, sep: string): string {
  const p = r.pick([0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65535])
  return r.chance(0.5) ? String(p) : `${p}${sep}${Math.min(65535, p + r.int(0, 3000))}`
}

/** One iptables rule of a chain, in iptables-save form. */
function iptablesRule(r: Rng, chain: string, users: string[]): string {
  const p = [`-A ${chain}`]
  if (r.chance(0.4)) p.push(`${r.chance(0.2) ? '! ' : ''}-s ${prefix(r)}`)
  if (r.chance(0.4)) p.push(`${r.chance(0.2) ? '! ' : ''}-d ${prefix(r)}`)
  if (r.chance(0.1)) {
    const lo = near(r)
    p.push(
      `-m iprange ${r.chance(0.2) ? '! ' : ''}--src-range ${ip4(lo)}-${ip4(lo + r.int(0, 5000))}`
    )
  }
  if (r.chance(0.25))
    p.push(`${r.chance(0.2) ? '! ' : ''}-i ${r.pick(['eth0', 'eth1', 'eth+', 'lo'])}`)
  if (r.chance(0.2)) p.push(`${r.chance(0.2) ? '! ' : ''}-o ${r.pick(['eth0', 'eth1', 'wg+'])}`)
  const proto = r.pick(['tcp', 'tcp', 'udp', 'icmp', '', ''])
  if (proto) p.push(`${r.chance(0.1) ? '! ' : ''}-p ${proto}`)
  if (proto === 'tcp' || proto === 'udp') {
    const k = r.next()
    if (k < 0.35) p.push(`-m ${proto} ${r.chance(0.2) ? '! ' : ''}--dport ${portRange(r, ':')}`)
    else if (k < 0.55)
      p.push(
        `-m multiport --dports ${Array.from({ length: r.int(2, 5) }, () => portRange(r, ':')).join(',')}`
      )
    else if (k < 0.7) p.push(`-m ${proto} ${r.chance(0.2) ? '! ' : ''}--sport ${portRange(r, ':')}`)
    if (proto === 'tcp' && r.chance(0.15)) p.push('--tcp-flags FIN,SYN,RST,ACK SYN')
  } else if (proto === 'icmp' && r.chance(0.5))
    p.push(`-m icmp --icmp-type ${r.pick([0, 3, 8, 11])}`)
  if (r.chance(0.2)) {
    const states = r.pick([
      'NEW',
      'ESTABLISHED',
      'RELATED,ESTABLISHED',
      'INVALID',
      'DNAT',
      'NEW,SNAT'
    ])
    p.push(`-m conntrack ${r.chance(0.2) ? '! ' : ''}--ctstate ${states}`)
  }
  if (r.chance(0.08)) p.push(`-m mark --mark 0x${r.int(0, 3)}/0x3`)
  if (r.chance(0.05)) p.push(`-m length --length ${r.int(40, 100)}:${r.int(100, 1500)}`)
  if (r.chance(0.04)) p.push('-m limit --limit 5/sec')
  const t = r.next()
  if (t < 0.3) p.push('-j ACCEPT')
  else if (t < 0.5) p.push('-j DROP')
  else if (t < 0.6) p.push('-j REJECT --reject-with icmp-port-unreachable')
  else if (t < 0.72) p.push(`-j LOG --log-prefix "${chain}: "`)
  else if (t < 0.8) p.push(`-j MARK --set-xmark 0x${r.int(0, 3)}/0xffffffff`)
  else if (t < 0.9 && users.length) p.push(`-${r.chance(0.7) ? 'j' : 'g'} ${r.pick(users)}`)
  else p.push(chain === chain.toUpperCase() ? '-j ACCEPT' : '-j RETURN')
  return p.join(' ')
}

/** A filter table whose INPUT and FORWARD chains are long enough to be classified. */
function iptablesChains(seed: number): string {
  const r = rng(seed)
  const users = ['u1', 'u2']
  const rules: string[] = []
  for (const u of users) for (let i = 0; i < r.int(1, 70); i++) rules.push(iptablesRule(r, u, []))
  for (const c of ['INPUT', 'FORWARD', 'OUTPUT'])
    for (let i = 0; i < r.int(48, 160); i++) {
      const line = iptablesRule(r, c, users)
      rules.push(line)
      // Shadowed: the same rule again, or narrowed, later on.
      if (r.chance(0.1)) rules.push(line.replace(/\/(8|12|16)\b/, '/24'))
    }
  return [
    '*filter',
    `:INPUT ${r.pick(['ACCEPT', 'DROP'])} [0:0]`,
    `:FORWARD ${r.pick(['ACCEPT', 'DROP'])} [0:0]`,
    ':OUTPUT ACCEPT [0:0]',
    ...users.map((u) => `:${u} - [0:0]`),
    ...rules,
    'COMMIT',
    ''
  ].join('\n')
}

/** An inet table: IPv4 and IPv6 rules, sets of 5 to 300 elements, ranges and negations. */
function nftChains(seed: number): string {
  const r = rng(seed)
  const set = (n: number): string =>
    Array.from({ length: n }, () =>
      r.chance(0.7) ? ip4(near(r)) : prefix(r).replace(/\/(8|12)$/, '/24')
    )
      .filter((x, i, all) => all.indexOf(x) === i)
      .join(', ')
  const rules: string[] = []
  for (let i = 0; i < r.int(48, 200); i++) {
    const p: string[] = []
    if (r.chance(0.2))
      p.push(`iifname ${r.chance(0.2) ? '!= ' : ''}"${r.pick(['eth0', 'eth*', 'lo'])}"`)
    const k = r.next()
    if (k < 0.3) p.push(`ip saddr ${r.chance(0.2) ? '!= ' : ''}${prefix(r)}`)
    else if (k < 0.4) p.push(`ip daddr ${r.chance(0.3) ? '!= ' : ''}@big`)
    else if (k < 0.5) p.push(`ip saddr { ${set(r.int(2, 8))} }`)
    else if (k < 0.6) {
      const lo = near(r)
      p.push(`ip daddr ${ip4(lo)}-${ip4(lo + r.int(0, 4000))}`)
    } else if (k < 0.7)
      p.push(`ip6 saddr ${r.chance(0.3) ? '!= ' : ''}2001:db8:${r.int(0, 3)}::/48`)
    const proto = r.pick(['tcp', 'udp', 'icmp', ''])
    if (proto === 'tcp' || proto === 'udp') {
      const q = r.next()
      if (q < 0.4) p.push(`${proto} dport ${r.chance(0.2) ? '!= ' : ''}${portRange(r, '-')}`)
      else if (q < 0.6)
        p.push(`${proto} dport { ${[portRange(r, '-'), portRange(r, '-')].join(', ')} }`)
      else if (q < 0.7) p.push(`${proto} sport ${portRange(r, '-')}`)
      else p.push(`meta l4proto ${proto}`)
    } else if (proto === 'icmp') p.push(`icmp type ${r.pick(['echo-request', 'echo-reply'])}`)
    if (r.chance(0.15))
      p.push(
        `ct state ${r.chance(0.2) ? '!= ' : ''}${r.pick(['new', 'established,related', 'invalid'])}`
      )
    if (r.chance(0.05)) p.push('meta mark 0x1')
    p.push(r.pick(['accept', 'drop', 'reject', 'counter', 'log', 'meta mark set 0x1', 'jump side']))
    rules.push(`\t\t${p.join(' ')}`)
  }
  return [
    'table inet t {',
    '\tset big {',
    '\t\ttype ipv4_addr',
    '\t\tflags interval',
    `\t\telements = { ${set(300)} }`,
    '\t}',
    '\tchain side {',
    '\t\tip saddr 10.0.0.0/16 tcp dport 22 drop',
    '\t\tudp dport 53 return',
    '\t\tct state established accept',
    '\t}',
    '\tchain input {',
    `\t\ttype filter hook input priority filter; policy ${r.pick(['accept', 'drop'])};`,
    ...rules,
    '\t}',
    '}',
    ''
  ].join('\n')
}

/** Packets aimed at the chains' bounds: the prefixes' first and last addresses and beyond. */
function packetsFor(rs: Ruleset, seed: number, count: number) {
  const r = rng(seed)
  const v4: number[] = [0x0a000000, 0x0affffff, 0x0b000000]
  const ports = [0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65535]
  for (const t of rs.tables)
    for (const c of t.chains)
      for (const rule of c.rules)
        for (const m of rule.matches) {
          if (m.kind === 'saddr' || m.kind === 'daddr')
            for (const x of m.cidrs.slice(0, 8))
              if (x.version === 4) {
                const mask = x.bits === 0 ? 0 : (0xffffffff << (32 - x.bits)) >>> 0
                const lo = (x.words[0] & mask) >>> 0
                const hi = (lo | ~mask) >>> 0
                v4.push(lo, hi, (lo - 1) >>> 0, (hi + 1) >>> 0)
              }
          if ((m.kind === 'saddr-range' || m.kind === 'daddr-range') && m.from.version === 4)
            v4.push(m.from.words[0] >>> 0, (m.to.words[0] + 1) >>> 0, (m.from.words[0] - 1) >>> 0)
          if (m.kind === 'sport' || m.kind === 'dport')
            for (const [lo, hi] of m.ranges)
              ports.push(lo, hi, Math.max(0, lo - 1), Math.min(65535, hi + 1))
        }
  const CTS: CtState[] = ['new', 'established', 'related', 'invalid', 'untracked']
  return Array.from({ length: count }, () => {
    const v6 = r.chance(0.1)
    const addr = () =>
      v6
        ? { version: 6 as const, words: [0x20010db8, r.int(0, 4) << 16, 0, r.int(1, 9)], bits: 128 }
        : {
            version: 4 as const,
            words: [r.chance(0.85) ? r.pick(v4) : r.int(0, 0xffffffff)],
            bits: 32
          }
    const proto = r.pick(
      v6 ? (['tcp', 'udp', 'icmpv6'] as const) : (['tcp', 'udp', 'icmp'] as const)
    )
    const packet: PacketSpec = {
      proto,
      src: addr(),
      dst: addr(),
      srcText: 's',
      dstText: 'd',
      impliedCt: r.pick(CTS)
    }
    if (proto === 'tcp' || proto === 'udp') {
      packet.sport = r.pick(ports)
      packet.dport = r.pick(ports)
      if (proto === 'tcp') packet.tcpFlags = r.pick([0x02, 0x12, 0x10, 0x11])
    } else {
      packet.icmpType = r.pick([0, 3, 8, 11, 128])
      packet.icmpCode = 0
    }
    if (r.chance(0.5)) packet.mark = r.int(0, 3)
    if (r.chance(0.5)) packet.len = r.int(40, 1500)
    const options: WalkOptions = { path: r.pick(['input', 'forward', 'output'] as const) }
    if (r.chance(0.8)) options.ct = r.pick(CTS)
    if (r.chance(0.8)) options.iif = r.pick(['eth0', 'eth1', 'eth7', 'lo', 'wg0'])
    if (r.chance(0.8)) options.oif = r.pick(['eth0', 'eth1', 'wg3'])
    if (r.chance(0.2)) options.stateful = r.pick(['match', 'miss'] as const)
    return { packet, options }
  })
}

function isInert(rule: Rule): boolean {
  return !decisive(rule.action) && rule.action.kind !== 'set-mark' && !rule.marks?.length
}

/**
 * The classifier's verdict on every rule of a chain for one packet, against matchRule: a rule
 * ruled out must fail; a rule decided must match exactly when its residual conditions hold.
 */
function checkChain(rules: Rule[], cases: ReturnType<typeof packetsFor>): string | undefined {
  const { index, residual } = buildChainIndex(rules, isInert)
  const fields = buildFields([index])
  for (const { packet, options } of cases) {
    const ctx: MatchContext = {
      ct: options.ct ?? packet.impliedCt,
      iif: options.iif,
      oif: options.oif,
      src: packet.src,
      dst: packet.dst,
      sport: packet.sport,
      dport: packet.dport,
      mark: packet.mark,
      stateful: options.stateful
    }
    const proto = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }[packet.proto]
    // Computed afresh for each packet: combination number 0, forgotten before the next.
    index.rows = []
    const row = keyedRow(index, 0, proto, ctx)
    const v4 = packet.src.version === 4 && packet.dst.version === 4
    const values = [
      packet.src.version === 4 ? packet.src.words[0] >>> 0 : -1,
      packet.dst.version === 4 ? packet.dst.words[0] >>> 0 : -1,
      packet.sport ?? -1,
      packet.dport ?? -1
    ]
    const rowsOf = values.map((v, which) => {
      const d = index.dims[which]
      if (!d) return undefined
      if (v < 0) return { bits: d.bits, at: d.starts.length, stride: d.stride }
      const at = slot(d.starts, v)
      const f = fields[which]
      if (d.offsets && f && d.offsets[fieldSlot(f, v)] !== at)
        throw new Error('field offsets disagree')
      return { bits: d.bits, at, stride: d.stride }
    })
    for (let i = 0; i < rules.length; i++) {
      const w = i >>> 5
      const bit = 1 << (i & 31)
      const candidate =
        (row.candidates[w] & bit) !== 0 &&
        rowsOf.every((x) => !x || (x.bits[x.at + w * x.stride] & bit) !== 0)
      const m = matchRule(rules[i].matches, packet, ctx)
      const what = `rule ${i} (${rules[i].text}) on ${JSON.stringify({ packet, options })}`
      if (!candidate) {
        if (!isInert(rules[i]) && (m.matched || m.uncertain)) return `ruled out but holds: ${what}`
        continue
      }
      if (!v4 || (row.exact[w] & bit) === 0) continue
      const rest = matchRule(residual[i], packet, ctx)
      if (rest.matched !== m.matched || !!rest.uncertain !== !!m.uncertain)
        return `decided wrongly: ${what}`
    }
  }
  return undefined
}

function compareDecide(rs: Ruleset, cases: ReturnType<typeof packetsFor>): string | undefined {
  for (const { packet, options } of cases) {
    const w = walkNetfilter(rs, packet, options)
    const d = decide(rs, packet, options)
    const want = JSON.stringify([w.verdict, w.rejectWith, w.decidedBy, w.uncertain, w.dnatTo])
    const got = JSON.stringify([d.verdict, d.rejectWith, d.decidedBy, d.uncertain, d.dnatTo])
    if (want !== got) return `${JSON.stringify({ packet, options })}\n walk ${want}\n decide ${got}`
  }
  return undefined
}

describe('the chain classifier', () => {
  it('rules out and decides rules as matchRule does (fast-check: 40 iptables and nft chains, 150 packets)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), (seed, nft) => {
        const rs = nft
          ? readNft('c.nft', nftChains(seed))
          : readIptablesSave('c.rules', iptablesChains(seed))
        const cases = packetsFor(rs, seed, 150)
        for (const t of rs.tables)
          for (const c of t.chains)
            if (c.rules.length >= 48) expect(checkChain(c.rules, cases), c.name).toBeUndefined()
      }),
      { numRuns: 40, seed: 314 }
    )
  })

  it("gives decide the traced walk's verdict, rule and uncertainty (fast-check: 60 iptables and 60 nft rulesets, 1,500 packets)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), (seed, nft) => {
        const rs = nft
          ? readNft('c.nft', nftChains(seed))
          : readIptablesSave('c.rules', iptablesChains(seed))
        expect(rs.problems.filter((p) => !/not modelled/.test(p.message))).toEqual([])
        expect(compareDecide(rs, packetsFor(rs, seed + 1, 1500))).toBeUndefined()
      }),
      { numRuns: 120, seed: 2718 }
    )
  })
})
