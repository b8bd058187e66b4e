/**
 * A bridged packet's walk (path 'bridge'): it meets the bridge family's prerouting, forward and
 * postrouting chains with its ports as in and out interface, and, when br_netfilter hands it on,
 * the ip-family chains of the same hooks, which see the bridge itself as both interfaces and the
 * ports as -m physdev's. br_netfilter runs them at priority 0 of bridge prerouting and of bridge
 * forward and last on bridge postrouting. A bridge does not route: the TTL stays. The traced walk
 * and the compiled decision agree.
 */
import { describe, expect, it } from 'vitest'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'
import { walkAndDecide as walk } from './walk-and-decide'

const NFT = `table bridge filter {
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    counter
  }
  chain late {
    type filter hook prerouting priority 100; policy accept;
    counter
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "bp0" ip daddr 10.96.1.10 tcp dport 5432 drop
    ip ttl 1 udp dport 53 drop
  }
  chain after {
    type filter hook forward priority 10; policy accept;
    tcp dport 6000 drop
  }
}
table inet filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "br0" oifname "br0" tcp dport 3306 drop
  }
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    counter
  }
}
`

describe('the bridge path', () => {
  const rs = readNft('bridge.nft', NFT)
  const bridged = { path: 'bridge' as const, iif: 'bp0', oif: 'bp1', bridge: 'br0' }

  it('walks the bridge chains with the ports as the packet’s interfaces', () => {
    const syn = 'tcp 10.96.1.2:45432 > 10.96.1.10:5432 syn'
    const w = walk(rs, syn, { ...bridged, brNetfilter: false })
    expect(w).toMatchObject({ verdict: 'drop', uncertain: false })
    expect(w.decidedBy).toMatchObject({ table: 'filter', chain: 'forward', line: 12 })
    // Came in by the other port: the rule names bp0 only.
    const back = walk(rs, syn, { ...bridged, iif: 'bp1', oif: 'bp0', brNetfilter: false })
    expect(back.verdict).toBe('accept')
  })

  it('leaves the ip-family chains out without br_netfilter, and walks them with it', () => {
    const mysql = 'tcp 10.96.1.2:45433 > 10.96.1.10:3306 syn'
    expect(walk(rs, mysql, { ...bridged, brNetfilter: false })).toMatchObject({
      verdict: 'accept',
      uncertain: false
    })
    const on = walk(rs, mysql, { ...bridged, brNetfilter: true })
    expect(on).toMatchObject({ verdict: 'drop', uncertain: false })
    expect(on.decidedBy).toMatchObject({ table: 'filter', chain: 'forward', line: 23 })
    // Not known: walked, and its drop is uncertain, saying what would settle it.
    const unknown = walk(rs, mysql, bridged)
    expect(unknown).toMatchObject({ verdict: 'drop', uncertain: true })
    expect(unknown.uncertainWhy.join(' ')).toMatch(/net\.bridge\.bridge-nf-call-iptables/)
    // Not a ruleset's drop of the bridge family's own: that one is certain either way.
    const pg = 'tcp 10.96.1.2:45432 > 10.96.1.10:5432 syn'
    expect(walk(rs, pg, bridged).uncertain).toBe(false)
  })

  it('runs br_netfilter’s ip-family chains where the kernel does among the bridge chains', () => {
    const x = 'tcp 10.96.1.2:45434 > 10.96.1.10:6000 syn'
    const w = walk(rs, x, { ...bridged, brNetfilter: true })
    // Rules and policies met, by line: bridge pre (-300) before br_netfilter's prerouting at
    // 0 (the inet mangle chain) and bridge late (100) after it; bridge forward (filter, -200), then the inet forward
    // chain br_netfilter runs at 0, then bridge after (10).
    expect(w.trace.map((s) => s.line)).toEqual([4, 3, 27, 26, 8, 7, 12, 13, 11, 23, 22, 17])
    expect(w.decidedBy).toMatchObject({ chain: 'after', line: 17 })
  })

  it('does not lower the TTL of a bridged packet', () => {
    const dns = 'udp 10.96.1.2:5353 > 10.96.1.10:53 ttl=1'
    expect(walk(rs, dns, { ...bridged, brNetfilter: false }).verdict).toBe('drop')
    const routed = walk(rs, dns, { path: 'forward', iif: 'eth0', oif: 'eth1' })
    expect(routed.verdict).toBe('accept')
  })
})

describe('-m physdev on the bridge path and on a routed one', () => {
  const rs = readIptablesSave(
    'iptables-save.txt',
    `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -d 10.96.1.10/32 -p tcp -m physdev --physdev-in bp0 -m tcp --dport 5432 -j DROP
-A FORWARD -i br0 -o br0 -p tcp -m tcp --dport 3306 -j DROP
COMMIT
`
  )
  const syn = 'tcp 10.96.1.2:45432 > 10.96.1.10:5432 syn'

  it('gives the ports to -m physdev and the bridge to -i and -o', () => {
    const opts = { path: 'bridge' as const, bridge: 'br0', brNetfilter: true }
    expect(walk(rs, syn, { ...opts, iif: 'bp0', oif: 'bp1' }).decidedBy?.line).toBe(5)
    expect(walk(rs, syn, { ...opts, iif: 'bp1', oif: 'bp0' }).verdict).toBe('accept')
    const mysql = 'tcp 10.96.1.2:45433 > 10.96.1.10:3306 syn'
    expect(walk(rs, mysql, { ...opts, iif: 'bp0', oif: 'bp1' }).decidedBy?.line).toBe(6)
    // Ports not known: physdev cannot be decided.
    const unknown = walk(rs, syn, opts)
    expect(unknown.uncertain).toBe(true)
  })

  it('decides physdev for a routed packet known to cross no bridge', () => {
    const routed = { path: 'forward' as const, iif: 'eth0', oif: 'eth1' }
    expect(walk(rs, syn, routed).uncertain).toBe(true)
    expect(walk(rs, syn, { ...routed, notBridged: true })).toMatchObject({
      verdict: 'accept',
      uncertain: false
    })
  })
})
