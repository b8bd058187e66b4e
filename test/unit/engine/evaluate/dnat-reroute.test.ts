/**
 * A packet addressed to the host that prerouting's DNAT sends to an address not the host's own
 * is routed on, not delivered: after prerouting it takes the forward path (the forward chain,
 * postrouting), as the kernel does, which is where Docker's published ports are filtered. The
 * traced walk and the compiled decision agree.
 */
import { describe, expect, it } from 'vitest'
import { readIptablesSave } from '../../../../src-main/engine/rulesets/read-iptables-save'
import { walkAndDecide as walk } from './walk-and-decide'

describe('a packet to the host that DNAT sends elsewhere', () => {
  const rs = readIptablesSave(
    'iptables-save.txt',
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      '-A DOCKER -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80',
      'COMMIT',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD DROP [0:0]',
      '-A FORWARD -s 192.168.60.11/32 -j DROP',
      '-A FORWARD -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT',
      'COMMIT',
      ''
    ].join('\n')
  )
  const host = { version: 4 as const, words: [0xc0a83c01], bits: 24 }

  it('is routed on after prerouting: the forward chain decides it, not INPUT', () => {
    const blocked = 'tcp 192.168.60.11:40000 > 192.168.60.1:8080 syn'
    const w = walk(rs, blocked, { path: 'input', iif: 'eth0', local: [host] })
    expect(w).toMatchObject({ verdict: 'drop', uncertain: false, dnatTo: '172.17.0.2:80' })
    expect(w.decidedBy).toMatchObject({ chain: 'FORWARD', line: 10 })
    const other = 'tcp 192.168.60.12:40000 > 192.168.60.1:8080 syn'
    expect(walk(rs, other, { path: 'input', iif: 'eth0', local: [host] }).decidedBy).toMatchObject({
      chain: 'FORWARD',
      line: 11
    })
    // Without the host's addresses the DNAT itself is undecided: delivered, uncertain.
    expect(walk(rs, blocked, { path: 'input', iif: 'eth0' })).toMatchObject({
      verdict: 'accept',
      uncertain: true
    })
  })
})

describe('a DNAT the walk cannot place, without the host’s addresses', () => {
  it('is said: delivered as asked, uncertain, with what decides it', () => {
    const rs = readIptablesSave(
      'iptables-save.txt',
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        '-A PREROUTING -d 10.51.1.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.51.2.2:80',
        'COMMIT',
        '*filter',
        ':INPUT DROP [0:0]',
        ':FORWARD ACCEPT [0:0]',
        'COMMIT',
        ''
      ].join('\n')
    )
    const w = walk(rs, 'tcp 10.51.1.2:41001 > 10.51.1.1:8080 S', { path: 'input', iif: 'r-c' })
    expect(w).toMatchObject({ verdict: 'drop', uncertain: true, dnatTo: '10.51.2.2:80' })
    expect(w.uncertainWhy).toEqual([
      "the DNAT sent the packet to 10.51.2.2:80: if that is not one of the host's own addresses, the kernel forwards it (forward chain) instead of delivering it (input chain); the host's addresses (--local, or its ip addr) decide which"
    ])
    // With them, forwarded: the forward chain's policy accepts it.
    const local = [{ version: 4 as const, words: [0x0a330101], bits: 24 }]
    expect(
      walk(rs, 'tcp 10.51.1.2:41001 > 10.51.1.1:8080 S', { path: 'input', iif: 'r-c', local })
    ).toMatchObject({ verdict: 'accept', uncertain: false })
  })
})
