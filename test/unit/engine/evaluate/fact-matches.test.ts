/**
 * Deciding the matches that test a packet's facts as the kernel does (xt_length, xt_ttl/xt_hl,
 * xt_mark/xt_connmark, xt_owner, xt_addrtype, xt_mac and their nft equivalents), and leaving
 * them undecided when the packet does not carry the fact.
 */
import { describe, expect, it } from 'vitest'
import { matchRule, type MatchContext } from '../../../../src-main/engine/evaluate/match-rule'
import { parsePacketSpec, type PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import {
  walkNetfilter,
  type WalkOptions
} from '../../../../src-main/engine/evaluate/walk-netfilter'
import type { AddrType, Cidr, Match } from '../../../../src-main/engine/rulesets/model'
import { parseCidr } from '../../../../src-main/engine/rulesets/parse-address'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'

const packet = (spec: string): PacketSpec => {
  const p = parsePacketSpec(spec)
  if (typeof p === 'string') throw new Error(p)
  return p
}
const cidrs = (...texts: string[]): Cidr[] => texts.map((t) => parseCidr(t)!)

/** 'match', 'miss' or 'unknown' for one condition. */
function decide(m: Match, spec: string, extra: Partial<MatchContext> = {}): string {
  const p = packet(spec)
  const ctx: MatchContext = {
    ct: p.impliedCt,
    src: p.src,
    dst: p.dst,
    sport: p.sport,
    dport: p.dport,
    ttl: p.ttl,
    mark: p.mark,
    ctMark: p.ctMark,
    ...extra
  }
  const r = matchRule([m], p, ctx)
  return r.uncertain ? 'unknown' : r.matched ? 'match' : 'miss'
}

describe('packet SPEC facts', () => {
  it('reads key=value facts after WHAT, and keeps the grammar without them', () => {
    const p = packet(
      'tcp 10.0.0.1:4000 > 10.0.0.2:22 syn len=60 ttl=64 mark=0x10 ctmark=3 uid=1000 gid=100 mac=02:00:00:00:0A:01'
    )
    expect(p).toMatchObject({
      tcpFlags: 2,
      len: 60,
      ttl: 64,
      mark: 16,
      ctMark: 3,
      uid: 1000,
      gid: 100,
      srcMac: '02:00:00:00:0a:01'
    })
    // Facts straight after the addresses: WHAT takes its default.
    expect(packet('tcp 10.0.0.1:4000 > 10.0.0.2:22 ttl=5')).toMatchObject({ tcpFlags: 2, ttl: 5 })
    expect(packet('icmp 10.0.0.1 > 10.0.0.2 frag-needed mtu 1400 len=576')).toMatchObject({
      icmpType: 3,
      icmpCode: 4,
      len: 576
    })
    const plain = packet('udp 10.0.0.1:4000 > 10.0.0.2:53')
    expect(plain.len).toBeUndefined()
    expect(plain.mark).toBeUndefined()
  })

  it('reads TCP flags as several words, as one, or as tcpdump letters', () => {
    const flags = (what: string) => packet(`tcp 10.0.0.1:4000 > 10.0.0.2:22 ${what}`).tcpFlags
    expect(flags('ack psh')).toBe(0x18)
    expect(flags('fin ack len=52')).toBe(0x11)
    expect(flags('P.')).toBe(0x18)
    expect(parsePacketSpec('tcp 10.0.0.1:4000 > 10.0.0.2:22 ack bogus')).toMatch(
      /TCP flags 'ack bogus' not understood/
    )
  })

  it('says what is wrong with a fact', () => {
    expect(parsePacketSpec('udp 10.0.0.1:1 > 10.0.0.2:2 ttl=256')).toBe(
      "ttl '256' is not a number from 0 to 255"
    )
    expect(parsePacketSpec('udp 10.0.0.1:1 > 10.0.0.2:2 len=10')).toBe(
      "len '10' is shorter than the IP header (20 bytes)"
    )
    expect(parsePacketSpec('udp [fd00::1]:1 > [fd00::2]:2 len=39')).toBe(
      "len '39' is shorter than the IP header (40 bytes)"
    )
    expect(parsePacketSpec('udp 10.0.0.1:1 > 10.0.0.2:2 colour=red')).toMatch(
      /^fact 'colour=red' not understood/
    )
    expect(parsePacketSpec('udp 10.0.0.1:1 > 10.0.0.2:2 mac=02:00')).toMatch(
      /^MAC address '02:00' not understood/
    )
    expect(parsePacketSpec('tcp 10.0.0.1:1 > 10.0.0.2:2 ttl=5 syn')).toMatch(
      /WHAT comes before the facts/
    )
    expect(parsePacketSpec('udp 10.0.0.1:1 > 10.0.0.2:2 ttl=5 hl=6')).toBe("fact 'hl' given twice")
  })
})

describe('length, TTL and marks', () => {
  const len: Match = { kind: 'length', ranges: [[40, 60]], negate: false }
  const ttlLt: Match = { kind: 'ttl', ranges: [[0, 9]], negate: false }
  const ttlNe: Match = { kind: 'ttl', ranges: [[64, 64]], negate: true }

  it('compares the IP total length with the ranges; without len it is undecidable', () => {
    expect(decide(len, 'udp 10.0.0.1:1 > 10.0.0.2:2 len=60')).toBe('match')
    expect(decide(len, 'udp 10.0.0.1:1 > 10.0.0.2:2 len=61')).toBe('miss')
    expect(decide({ ...len, negate: true }, 'udp 10.0.0.1:1 > 10.0.0.2:2 len=61')).toBe('match')
    expect(decide(len, 'udp 10.0.0.1:1 > 10.0.0.2:2')).toBe('unknown')
  })

  it('compares the TTL: lt, != and no TTL given', () => {
    expect(decide(ttlLt, 'udp 10.0.0.1:1 > 10.0.0.2:2 ttl=9')).toBe('match')
    expect(decide(ttlLt, 'udp 10.0.0.1:1 > 10.0.0.2:2 ttl=10')).toBe('miss')
    expect(decide(ttlNe, 'udp 10.0.0.1:1 > 10.0.0.2:2 ttl=64')).toBe('miss')
    expect(decide(ttlNe, 'udp 10.0.0.1:1 > 10.0.0.2:2 ttl=63')).toBe('match')
    expect(decide(ttlNe, 'udp 10.0.0.1:1 > 10.0.0.2:2')).toBe('unknown')
  })

  it('tests (mark & mask) == value; a connection mark needs a connection', () => {
    const masked: Match = { kind: 'mark', values: [0x100], mask: 0xff00, negate: false }
    expect(decide(masked, 'udp 10.0.0.1:1 > 10.0.0.2:2 mark=0x1ff')).toBe('match')
    expect(decide(masked, 'udp 10.0.0.1:1 > 10.0.0.2:2 mark=0x200')).toBe('miss')
    expect(
      decide(
        { ...masked, mask: 0xffffffff, values: [0xffffffff] },
        'udp 10.0.0.1:1 > 10.0.0.2:2 mark=0xffffffff'
      )
    ).toBe('match')
    expect(decide(masked, 'udp 10.0.0.1:1 > 10.0.0.2:2')).toBe('unknown')
    expect(
      decide({ ...masked, values: [0x200, 0x100] }, 'udp 10.0.0.1:1 > 10.0.0.2:2 mark=0x1ff')
    ).toBe('match')
    const ct: Match = { kind: 'ct-mark', values: [1, 5], mask: 0xffffffff, negate: true }
    expect(decide(ct, 'udp 10.0.0.1:1 > 10.0.0.2:2 ctmark=2')).toBe('match')
    expect(decide(ct, 'udp 10.0.0.1:1 > 10.0.0.2:2 ctmark=5')).toBe('miss')
    // Untracked and invalid packets have no connection: the match fails even negated.
    expect(decide(ct, 'udp 10.0.0.1:1 > 10.0.0.2:2 ctmark=2', { ct: 'untracked' })).toBe('miss')
    expect(decide(ct, 'udp 10.0.0.1:1 > 10.0.0.2:2', { ct: 'invalid' })).toBe('miss')
  })
})

describe('socket owner', () => {
  const xt: Match = { kind: 'uid', ranges: [[1000, 1000]], negate: false, withoutSocket: 'negated' }
  const nft: Match = { ...xt, withoutSocket: 'never' }

  it('compares the uid or gid the packet carries', () => {
    expect(decide(xt, 'tcp 10.0.0.1:1 > 10.0.0.2:2 uid=1000')).toBe('match')
    expect(decide({ ...xt, negate: true }, 'tcp 10.0.0.1:1 > 10.0.0.2:2 uid=1000')).toBe('miss')
    const gid: Match = { kind: 'gid', ranges: [[100, 199]], negate: false, withoutSocket: 'never' }
    expect(decide(gid, 'tcp 10.0.0.1:1 > 10.0.0.2:2 gid=150')).toBe('match')
    expect(decide(gid, 'tcp 10.0.0.1:1 > 10.0.0.2:2 uid=150')).toBe('unknown')
  })

  it('without a socket: iptables matches only negated, nft never', () => {
    const none = { socket: 'none' as const }
    expect(decide(xt, 'tcp 10.0.0.1:1 > 10.0.0.2:2', none)).toBe('miss')
    expect(decide({ ...xt, negate: true }, 'tcp 10.0.0.1:1 > 10.0.0.2:2', none)).toBe('match')
    expect(decide({ ...nft, negate: true }, 'tcp 10.0.0.1:1 > 10.0.0.2:2', none)).toBe('miss')
  })
})

describe('address types', () => {
  type AddrTypeMatch = Extract<Match, { kind: 'addrtype' }>
  const at = (types: AddrType[], extra: Partial<AddrTypeMatch> = {}): Match => ({
    kind: 'addrtype',
    dir: 'dst',
    types,
    negate: false,
    dialect: 'xt',
    ...extra
  })
  const local = cidrs('10.0.0.2/24', 'fd00::2/64')

  it('LOCAL from the host addresses, loopback always; unknown without them', () => {
    expect(decide(at(['local']), 'udp 10.0.0.1:1 > 10.0.0.2:2', { local })).toBe('match')
    expect(decide(at(['local']), 'udp 10.0.0.1:1 > 10.0.0.9:2', { local })).toBe('miss')
    expect(decide(at(['local']), 'udp 10.0.0.1:1 > 127.0.0.5:2')).toBe('match')
    expect(decide(at(['local']), 'udp 10.0.0.1:1 > 10.0.0.2:2')).toBe('unknown')
    expect(decide(at(['local'], { negate: true }), 'udp 10.0.0.1:1 > 10.0.0.9:2', { local })).toBe(
      'match'
    )
  })

  it('broadcast and multicast by the address itself; the subnet broadcast from a prefix', () => {
    expect(decide(at(['broadcast']), 'udp 10.0.0.1:1 > 255.255.255.255:2')).toBe('match')
    expect(decide(at(['multicast']), 'udp 10.0.0.1:1 > 224.0.0.251:2')).toBe('match')
    expect(decide(at(['unicast']), 'udp 10.0.0.1:1 > 224.0.0.251:2')).toBe('miss')
    expect(decide(at(['broadcast']), 'udp 10.0.0.1:1 > 10.0.0.255:2', { local })).toBe('match')
    expect(decide(at(['unicast']), 'udp 10.0.0.1:1 > 10.0.0.255:2', { local })).toBe('miss')
    // A local address is LOCAL, not UNICAST, in IPv4.
    expect(decide(at(['unicast']), 'udp 10.0.0.1:1 > 10.0.0.2:2', { local })).toBe('miss')
    expect(decide(at(['unicast', 'local']), 'udp 10.0.0.1:1 > 10.0.0.2:2', { local })).toBe('match')
  })

  it('tied to an interface, a local-table type is no longer certain', () => {
    expect(decide(at(['local'], { iface: 'in' }), 'udp 10.0.0.1:1 > 10.0.0.2:2', { local })).toBe(
      'unknown'
    )
    expect(decide(at(['local'], { iface: 'in' }), 'udp 10.0.0.1:1 > 10.0.0.9:2', { local })).toBe(
      'miss'
    )
  })

  it('ip6tables needs every type given; nft any', () => {
    expect(decide(at(['local']), 'udp [fd00::1]:1 > [fd00::2]:2', { local })).toBe('match')
    // match_type6: UNICAST and LOCAL both hold for a local address.
    expect(decide(at(['unicast', 'local']), 'udp [fd00::1]:1 > [fd00::2]:2', { local })).toBe(
      'match'
    )
    expect(decide(at(['unicast', 'local']), 'udp [fd00::1]:1 > [fd00::9]:2', { local })).toBe(
      'miss'
    )
    expect(decide(at(['unicast']), 'udp [fd00::1]:1 > [fd00::9]:2')).toBe('match')
    expect(decide(at(['multicast']), 'udp [fd00::1]:1 > [ff02::1]:2')).toBe('match')
    // ip6tables' lookup ignores local routes when an interface limits it.
    expect(decide(at(['local'], { iface: 'in' }), 'udp [fd00::1]:1 > [fd00::2]:2', { local })).toBe(
      'miss'
    )
    expect(
      decide(at(['local'], { dialect: 'nft' }), 'udp [fd00::1]:1 > [fd00::2]:2', { local })
    ).toBe('match')
    expect(
      decide(at(['local'], { dialect: 'nft' }), 'udp [fd00::1]:1 > [fd00::9]:2', { local })
    ).toBe('miss')
    expect(
      decide(at(['unicast'], { dialect: 'nft' }), 'udp [fd00::1]:1 > [fd00::9]:2', { local })
    ).toBe('unknown')
  })
})

describe('MAC source', () => {
  const mac: Match = {
    kind: 'mac-source',
    macs: ['02:00:00:00:0a:01', '02:00:00:00:0a:03'],
    negate: false
  }
  it('compares the source MAC; a packet made here has none, so the match fails even negated', () => {
    expect(decide(mac, 'udp 10.0.0.1:1 > 10.0.0.2:2 mac=02:00:00:00:0A:01')).toBe('match')
    expect(decide(mac, 'udp 10.0.0.1:1 > 10.0.0.2:2 mac=02:00:00:00:0a:02')).toBe('miss')
    expect(decide(mac, 'udp 10.0.0.1:1 > 10.0.0.2:2 mac=2:0:0:0:a:3')).toBe('match')
    expect(decide(mac, 'udp 10.0.0.1:1 > 10.0.0.2:2')).toBe('unknown')
    expect(decide({ ...mac, negate: true }, 'udp 10.0.0.1:1 > 10.0.0.2:2', { noMac: true })).toBe(
      'miss'
    )
  })
})

describe('walking with facts', () => {
  const RULES = `*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 5001 -j MARK --set-xmark 0x2/0xffffffff
-A PREROUTING -p udp -m udp --dport 5002 -m ttl --ttl-lt 5 -j MARK --set-xmark 0x3/0xffffffff
-A PREROUTING -p udp -m udp --dport 5003 -j CONNMARK --set-xmark 0x7/0xffffffff
-A PREROUTING -p udp -m udp --dport 5003 -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m mark --mark 0x2 -j ACCEPT
-A INPUT -m mark --mark 0x3 -j REJECT
-A INPUT -m mark --mark 0x7 -m connmark --mark 0x7 -j ACCEPT
-A FORWARD -m ttl --ttl-eq 63 -j ACCEPT
-A FORWARD -m owner --uid-owner 0 -j ACCEPT
-A OUTPUT -m owner --uid-owner 1000 -j REJECT
-A OUTPUT -m mac --mac-source 02:00:00:00:00:01 -j DROP
COMMIT
`
  const ruleset = readIptablesSave('rules', RULES)
  const walk = (spec: string, opts: Partial<WalkOptions> = {}) =>
    walkNetfilter(ruleset, packet(spec), { path: 'input', ...opts })

  it('knows the mark a MARK rule set, and the connection mark CONNMARK restored', () => {
    expect(ruleset.problems).toEqual([])
    const a = walk('udp 10.0.0.1:1 > 10.0.0.2:5001')
    expect([a.verdict, a.decidedBy?.rule, a.uncertain]).toEqual([
      'accept',
      '-A INPUT -m mark --mark 0x2 -j ACCEPT',
      false
    ])
    const b = walk('udp 10.0.0.1:1 > 10.0.0.2:5003')
    expect([b.verdict, b.decidedBy?.line, b.uncertain]).toEqual(['accept', 18, false])
  })

  it('a MARK rule whose condition is undecidable leaves the mark unknown', () => {
    const sure = walk('udp 10.0.0.1:1 > 10.0.0.2:5002 ttl=3')
    expect([sure.verdict, sure.uncertain]).toEqual(['reject', false])
    const unsure = walk('udp 10.0.0.1:1 > 10.0.0.2:5002')
    expect(unsure.uncertain).toBe(true)
    expect(unsure.uncertainWhy.join(' ')).toMatch(/mark 0x2 \(the packet has no mark=N\)/)
  })

  it('a forwarded packet meets FORWARD with its TTL lowered, and with no socket', () => {
    const r = walk('udp 10.0.0.1:1 > 10.0.1.2:53 ttl=64', { path: 'forward' })
    expect([r.verdict, r.decidedBy?.rule]).toEqual([
      'accept',
      '-A FORWARD -m ttl --ttl-eq 63 -j ACCEPT'
    ])
    const o = walk('udp 10.0.0.1:1 > 10.0.1.2:53 ttl=30', { path: 'forward' })
    // The owner rule is decided (no socket: no match), so the policy decides with certainty.
    expect([o.verdict, o.decidedBy?.kind, o.uncertain]).toEqual(['drop', 'policy', false])
  })

  it('on the output path: the socket owner decides, and a MAC match never holds', () => {
    const r = walk('tcp 10.0.0.2:40000 > 10.0.0.9:80 uid=1000', { path: 'output' })
    expect([r.verdict, r.decidedBy?.line]).toEqual(['reject', 21])
    const s = walk('tcp 10.0.0.2:40000 > 10.0.0.9:80 uid=0', { path: 'output' })
    expect([s.verdict, s.decidedBy?.kind, s.uncertain]).toEqual(['accept', 'policy', false])
    const u = walk('tcp 10.0.0.2:40000 > 10.0.0.9:80', { path: 'output' })
    expect(u.uncertainWhy).toEqual(['line 21: socket owned by uid 1000 (the packet has no uid=N)'])
  })

  it('nft: meta mark set then a mark match; fib daddr type local with the host addresses', () => {
    const nft = readNft(
      'r.nft',
      `table inet t {
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    udp dport 6000 meta mark set 0x00000009
  }
  chain input {
    type filter hook input priority filter; policy drop;
    meta mark 0x00000009 accept
    fib daddr type != local drop
    ip ttl 1 reject
    accept
  }
}
`
    )
    expect(nft.problems).toEqual([])
    const go = (spec: string, local?: Cidr[]) =>
      walkNetfilter(nft, packet(spec), { path: 'input', local })
    expect(go('udp 10.0.0.1:1 > 10.0.0.2:6000').decidedBy?.rule).toBe('meta mark 0x00000009 accept')
    const notLocal = go('udp 10.0.0.1:1 > 10.0.0.3:7000', cidrs('10.0.0.2'))
    expect([notLocal.verdict, notLocal.decidedBy?.rule]).toEqual([
      'drop',
      'fib daddr type != local drop'
    ])
    const ttl1 = go('udp 10.0.0.1:1 > 10.0.0.2:7000 ttl=1 mark=0', cidrs('10.0.0.2'))
    expect([ttl1.verdict, ttl1.decidedBy?.rule, ttl1.uncertain]).toEqual([
      'reject',
      'ip ttl 1 reject',
      false
    ])
    const unknown = go('udp 10.0.0.1:1 > 10.0.0.2:7000 ttl=1')
    expect(unknown.uncertain).toBe(true)
  })
})
