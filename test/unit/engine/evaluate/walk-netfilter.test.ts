import { describe, expect, it } from 'vitest'
import { parsePacketSpec, type PacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import {
  walkNetfilter,
  type WalkOptions
} from '../../../../src-main/engine/evaluate/walk-netfilter'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.5:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:web - [0:0]
:admin - [0:0]
-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT
-A INPUT -p tcp --dport 22 -s 192.168.0.0/16 -j ACCEPT
-A INPUT -p tcp -j web
-A INPUT -p udp --dport 53 -j REJECT
-A INPUT -j LOG --log-prefix "dropped: "
-A web -p tcp --dport 80 -j ACCEPT
-A web -p tcp --dport 9000 -g admin
-A web -p tcp --dport 443 -j ACCEPT
-A admin -s 10.9.9.9 -j ACCEPT
-A FORWARD -d 10.0.1.5 -p tcp --dport 81 -j ACCEPT
COMMIT
`
const ruleset = readIptablesSave('rules.v4', RULES)
const walk = (spec: string, opts: Partial<WalkOptions> = {}) => {
  const p = parsePacketSpec(spec) as PacketSpec
  if (typeof p === 'string') throw new Error(p)
  return walkNetfilter(ruleset, p, { path: 'input', ...opts })
}

describe('walking a packet through iptables', () => {
  it('a SYN to an open port: accepted by the rule, found through a jump', () => {
    const r = walk('tcp 1.2.3.4:5000 > 10.0.0.1:80 syn')
    expect(r).toMatchObject({
      verdict: 'accept',
      ct: 'new',
      uncertain: false,
      decidedBy: { kind: 'rule', chain: 'web', line: 19 }
    })
  })

  it('falls off a user chain back to the caller, logs (without stopping), then the policy drops', () => {
    const r = walk('tcp 1.2.3.4:5000 > 10.0.0.1:25 syn')
    expect(r.verdict).toBe('drop')
    expect(r.decidedBy).toEqual({
      kind: 'policy',
      table: 'filter',
      chain: 'INPUT',
      line: 9,
      rule: ':INPUT DROP [0:0]'
    })
    // nat PREROUTING's policy (line 2) lets the new connection's first packet by first.
    expect(r.trace.filter((s) => s.matched).map((s) => s.line)).toEqual([2, 16, 18, 9])
  })

  it('a goto does not come back: the packet falls to the policy after the target chain ends', () => {
    const r = walk('tcp 1.2.3.4:5000 > 10.0.0.1:9000 syn')
    expect(r.verdict).toBe('drop')
    // Had it been a jump, line 21 (443) would have been tried after admin returned.
    expect(r.trace.map((s) => s.line)).not.toContain(21)
  })

  it('REJECT with iptables’ default answer', () => {
    expect(walk('udp 1.2.3.4:5000 > 10.0.0.1:53')).toMatchObject({
      verdict: 'reject',
      rejectWith: 'icmp-port-unreachable',
      decidedBy: { line: 17 }
    })
  })

  it('an established packet is accepted by the state rule; the NAT table does not see it', () => {
    const r = walk('tcp 1.2.3.4:5000 > 10.0.0.1:8080 ack')
    expect(r).toMatchObject({ verdict: 'accept', ct: 'established', decidedBy: { line: 14 } })
    expect(r.trace.some((s) => s.table === 'nat')).toBe(false)
  })

  it('DNAT in PREROUTING rewrites the destination the FORWARD chain sees', () => {
    const through = walk('tcp 1.2.3.4:5000 > 203.0.113.1:8080 syn', { path: 'forward' })
    // 8080 → 10.0.1.5:80, but FORWARD only accepts port 81: dropped by FORWARD's policy.
    expect(through).toMatchObject({
      verdict: 'drop',
      decidedBy: { kind: 'policy', chain: 'FORWARD' }
    })
    expect(through.trace.find((s) => s.chain === 'FORWARD' && s.kind === 'rule')?.note).toBe(
      'needs destination port 81'
    )
  })

  it("iptables' virtual DNAT state holds for the first packet this walk translated", () => {
    const rs = readIptablesSave(
      'dnat.v4',
      '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 203.0.113.10 -p tcp --dport 80 -j DNAT --to-destination 10.0.2.2:8080\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT\nCOMMIT\n'
    )
    const translated = parsePacketSpec('tcp 198.51.100.7:40000 > 203.0.113.10:80 syn') as PacketSpec
    const plain = parsePacketSpec('tcp 198.51.100.7:40000 > 203.0.113.10:22 syn') as PacketSpec
    expect(walkNetfilter(rs, translated, { path: 'forward' })).toMatchObject({
      verdict: 'accept',
      decidedBy: { line: 7 }
    })
    expect(walkNetfilter(rs, plain, { path: 'forward' })).toMatchObject({
      verdict: 'drop',
      uncertain: false
    })
    // A later packet: whether its connection was translated is not in the snapshot.
    expect(walkNetfilter(rs, plain, { path: 'forward', ct: 'established' })).toMatchObject({
      verdict: 'drop',
      uncertain: true
    })
  })

  it('an undecidable condition on a deciding rule makes the verdict uncertain', () => {
    const rs = readIptablesSave(
      'mac.v4',
      '*filter\n:INPUT DROP [0:0]\n-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT\nCOMMIT\n'
    )
    const p = parsePacketSpec('tcp 1.2.3.4:5000 > 10.0.0.1:22') as PacketSpec
    expect(walkNetfilter(rs, p, { path: 'input' })).toMatchObject({
      verdict: 'drop',
      uncertain: true,
      uncertainWhy: ['line 3: MAC source 00:11:22:33:44:55 (the packet has no mac=ADDR)']
    })
  })

  it('takes a limit written for traffic over it as holding over it, its options as one condition', () => {
    const rs = readIptablesSave(
      'rules',
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        '-A INPUT -p tcp -m hashlimit --hashlimit-above 1/sec --hashlimit-burst 2 --hashlimit-name h -j DROP',
        '-A INPUT -p tcp -m limit --limit 1/sec --limit-burst 2 -j REJECT',
        'COMMIT',
        ''
      ].join('\n')
    )
    const stateful = rs.tables[0].chains[0].rules.map((r) =>
      r.matches.filter((m) => m.kind === 'stateful')
    )
    expect(stateful.map((l) => l.length)).toEqual([1, 1])
    const p = parsePacketSpec('tcp 1.2.3.4:5000 > 10.0.0.1:22') as PacketSpec
    const at = (stateful: 'match' | 'miss' | 'unknown') =>
      walkNetfilter(rs, p, { path: 'input', stateful })
    // Under every limit: the hashlimit-above rule does not hold, the limit rule does.
    expect(at('match')).toMatchObject({ verdict: 'reject', decidedBy: { line: 4 } })
    // Over every limit: the hashlimit-above rule holds.
    expect(at('miss')).toMatchObject({ verdict: 'drop', decidedBy: { line: 3 } })
    expect(at('unknown').uncertainWhy[0]).toBe(
      'line 3: hashlimit: --hashlimit-above 1/sec --hashlimit-burst 2 --hashlimit-name h (depends on the rate or state at the time)'
    )
  })

  it('parses packet specs as the command line takes them', () => {
    expect(parsePacketSpec('tcp [fd00::1]:5555 > [fd00::2]:22 S.')).toMatchObject({
      proto: 'tcp',
      sport: 5555,
      dport: 22,
      tcpFlags: 0x12,
      impliedCt: 'established'
    })
    expect(parsePacketSpec('icmp 10.0.0.1 > 10.0.0.2 frag-needed')).toMatchObject({
      icmpType: 3,
      icmpCode: 4,
      impliedCt: 'related'
    })
    // Neighbour discovery and multicast listener messages: untracked (the kernel lab checks it),
    // named as iptables or nft names them.
    for (const what of ['neighbor-solicitation', 'nd-neighbor-solicit', 'nd-router-advert', '143'])
      expect(parsePacketSpec(`icmpv6 fd00::1 > fd00::2 ${what}`)).toMatchObject({
        impliedCt: 'untracked'
      })
    expect(parsePacketSpec('icmpv6 fd00::1 > fd00::2 echo-request')).toMatchObject({
      icmpType: 128,
      impliedCt: 'new'
    })
    expect(parsePacketSpec('icmp 10.0.0.1 > 10.0.0.2 constructor')).toBe(
      "ICMP type 'constructor' not understood"
    )
    expect(parsePacketSpec('udp 10.0.0.1 > 10.0.0.2:53')).toBe(
      'udp needs ports: SRC:PORT > DST:PORT'
    )
  })
})
