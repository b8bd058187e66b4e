/**
 * netdev chains: an ingress chain sees the packets of its devices before conntrack and
 * prerouting, an egress chain those leaving by its devices after postrouting; a packet of another
 * device passes them by, and one whose device is not known makes the walk uncertain. The device
 * is read from the chain's type line (`device "eth0"`, `devices = { ... }`), from a statement of
 * its own, and from nft -j's `dev`. The traced walk and the compiled decision agree.
 */
import { describe, expect, it } from 'vitest'
import { walkAndDecide } from './walk-and-decide'
import { readNft } from '../../../../src-main/engine/rulesets/read-nft'
import { readNftJson } from '../../../../src-main/engine/rulesets/read-nft-json'

const NFT = `table netdev edge {
  chain ingress {
    type filter hook ingress device "eth0" priority -500; policy accept;
    ip saddr 10.78.9.0/24 drop
  }
  chain out {
    type filter hook egress devices = { "eth1", "eth2" } priority 0; policy accept;
    tcp dport 25 drop
  }
}
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    tcp dport 22 accept
  }
}
`

const walk = walkAndDecide

describe('netdev ingress and egress chains', () => {
  const rs = readNft('edge.nft', NFT)
  const ssh = 'tcp 10.78.9.5:45922 > 10.78.0.1:22 syn'

  it('reads the devices of each chain', () => {
    const chains = rs.tables[0].chains
    expect(chains.map((c) => c.base?.devices)).toEqual([['eth0'], ['eth1', 'eth2']])
  })

  it('drops at ingress the packets of its device only, before the input chain', () => {
    const dropped = walk(rs, ssh, { path: 'input', iif: 'eth0' })
    expect(dropped).toMatchObject({ verdict: 'drop', uncertain: false })
    expect(dropped.decidedBy).toMatchObject({ table: 'edge', chain: 'ingress' })
    expect(dropped.trace[0].hook).toBe('ingress')
    expect(walk(rs, ssh, { path: 'input', iif: 'eth1' })).toMatchObject({
      verdict: 'accept',
      uncertain: false
    })
    const unknown = walk(rs, ssh, { path: 'input' })
    expect(unknown.uncertain).toBe(true)
    expect(unknown.uncertainWhy.join(' ')).toMatch(/ingress chain edge ingress is for eth0 only/)
  })

  it('drops at egress what leaves by its devices, after the host sent it', () => {
    const mail = 'tcp 10.78.0.1:40000 > 192.0.2.25:25 syn'
    expect(walk(rs, mail, { path: 'output', oif: 'eth2' }).decidedBy).toMatchObject({
      chain: 'out'
    })
    expect(walk(rs, mail, { path: 'output', oif: 'eth0' }).verdict).toBe('accept')
  })

  it('reads the same devices from nft -j list ruleset', () => {
    const json = readNftJson(
      'edge.json',
      JSON.stringify({
        nftables: [
          { table: { family: 'netdev', name: 'edge', handle: 1 } },
          {
            chain: {
              family: 'netdev',
              table: 'edge',
              name: 'ingress',
              handle: 1,
              type: 'filter',
              hook: 'ingress',
              prio: -500,
              policy: 'accept',
              dev: 'eth0'
            }
          },
          {
            chain: {
              family: 'netdev',
              table: 'edge',
              name: 'out',
              handle: 2,
              type: 'filter',
              hook: 'egress',
              prio: 0,
              policy: 'accept',
              dev: ['eth1', 'eth2']
            }
          }
        ]
      })
    )
    expect(json.tables[0].chains.map((c) => c.base?.devices)).toEqual([['eth0'], ['eth1', 'eth2']])
  })
})
