/**
 * notrack before conntrack: iptables' NOTRACK and `CT --notrack` targets in the raw table, nft's
 * `notrack` statement in a chain of raw priority, take the packet out of connection tracking, so
 * every later chain sees `ct state untracked` (a rule for NEW no longer matches, NAT chains are
 * skipped). The same statement after conntrack (on the input hook, or at filter priority) changes
 * nothing, as in the kernel (nft_notrack_eval leaves a packet conntrack has seen alone). The
 * traced walk and the compiled decision must agree on all of it.
 */
import { describe, expect, it } from 'vitest'
import { parsePacketSpec } from '../../../../src-main/engine/evaluate/packet-spec'
import {
  walkNetfilter,
  type WalkOptions
} from '../../../../src-main/engine/evaluate/walk-netfilter'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'
import { walkAndDecide } from './walk-and-decide'
import type { Ruleset } from '../../../../src-main/engine/rulesets/model'

const IPT = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j NOTRACK
-A PREROUTING -p tcp -m tcp --dport 8443 -j CT --notrack
-A PREROUTING -p tcp -m tcp --dport 8444 -j CT --zone 4
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p udp -m udp --dport 53 -j REDIRECT --to-ports 5353
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8443 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8444 -m conntrack --ctstate NEW -j ACCEPT
-A INPUT -p udp -m udp --dport 53 -m conntrack --ctstate UNTRACKED -j ACCEPT
COMMIT
`

const NFT = `table inet raw {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    udp dport 53 notrack
    tcp dport 9000 notrack accept
  }
}
table inet late {
  chain pre {
    type filter hook prerouting priority filter; policy accept;
    tcp dport 8443 notrack
  }
}
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    ct state new tcp dport { 8443, 9000 } accept
    ct state untracked udp dport 53 accept
  }
}
`

const input: WalkOptions = { path: 'input', iif: 'eth0' }

const both = (rs: Ruleset, spec: string, options: WalkOptions = input) =>
  walkAndDecide(rs, spec, options)

describe('notrack', () => {
  const ipt = readIptablesSave('ipt.rules', IPT)
  const nft = readNft('ruleset.nft', NFT)

  it('iptables NOTRACK and CT --notrack in raw make the packet untracked for every later chain', () => {
    const syn = both(ipt, 'tcp 10.0.0.1:40000 > 10.0.0.2:8443 syn')
    expect(syn).toMatchObject({ verdict: 'drop', ct: 'untracked' })
    expect(syn.decidedBy).toMatchObject({ kind: 'policy', chain: 'INPUT' })
    expect(syn.trace.find((s) => s.matched)).toMatchObject({ table: 'raw', action: 'notrack' })
    // The NAT chain, which sees tracked first packets only, is passed by.
    const dns = both(ipt, 'udp 10.0.0.1:40000 > 10.0.0.2:53')
    expect(dns).toMatchObject({ verdict: 'accept', ct: 'untracked' })
    expect(dns.decidedBy?.rule).toMatch(/UNTRACKED -j ACCEPT$/)
    expect(dns.trace.some((s) => s.table === 'nat')).toBe(false)
    // CT with other options is not notrack: the packet stays new.
    const zoned = both(ipt, 'tcp 10.0.0.1:40000 > 10.0.0.2:8444 syn')
    expect(zoned).toMatchObject({ verdict: 'accept', ct: 'new' })
  })

  it('what the rules would do with the packet tracked', () => {
    const packet = parsePacketSpec('tcp 10.0.0.1:40000 > 10.0.0.2:8443 syn')
    if (typeof packet === 'string') throw new Error(packet)
    const tracked = walkNetfilter(ipt, packet, { ...input, ignoreNotrack: true })
    expect(tracked).toMatchObject({ verdict: 'accept', ct: 'new' })
    expect(tracked.decidedBy?.rule).toMatch(/--dport 8443 -m conntrack --ctstate NEW/)
  })

  it('nft notrack holds before conntrack only, and with a verdict in the same rule', () => {
    expect(both(nft, 'udp 10.0.0.1:40000 > 10.0.0.2:53')).toMatchObject({
      verdict: 'accept',
      ct: 'untracked'
    })
    // `notrack accept`: untracked, and the filter's rule for new connections no longer matches.
    expect(both(nft, 'tcp 10.0.0.1:40000 > 10.0.0.2:9000 syn')).toMatchObject({
      verdict: 'drop',
      ct: 'untracked'
    })
    // At filter priority conntrack has run already: the packet stays new and is accepted.
    expect(both(nft, 'tcp 10.0.0.1:40000 > 10.0.0.2:8443 syn')).toMatchObject({
      verdict: 'accept',
      ct: 'new'
    })
  })

  it('a packet the host sends is untracked by a raw output rule, and nothing on the input path', () => {
    const out = readIptablesSave(
      'out.rules',
      `*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p udp -m udp --sport 53 -j NOTRACK\nCOMMIT\n` +
        `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n`
    )
    expect(
      both(out, 'udp 10.0.0.2:53 > 10.0.0.1:40000', { path: 'output', oif: 'eth0' })
    ).toMatchObject({ verdict: 'drop', ct: 'untracked' })
  })
})
