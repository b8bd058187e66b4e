import { describe, expect, it } from 'vitest'
import { readIpAddr } from '../../../../src-main/engine/hostfacts/read-ip-addr'
import { fixture } from './fixture'

const VDTHF0_ADDRESSES = [
  { family: 4, address: '10.77.0.1', prefixLen: 24, scope: 'global' },
  { family: 6, address: 'fd77::1', prefixLen: 64, scope: 'global', flags: ['nodad'] },
  { family: 6, address: 'fe80::77:ff:fe00:1', prefixLen: 64, scope: 'link', flags: [] }
]

describe('readIpAddr', () => {
  it('reads ip addr (host A)', () => {
    const s = readIpAddr('ip-addr.txt', fixture('ip-addr.txt'))
    expect(s.problems).toEqual([])
    expect(s.format).toBe('text')
    expect(s.interfaces.map((i) => i.name)).toEqual(['lo', 'vdthf0'])
    const v = s.interfaces[1]
    expect(v).toMatchObject({
      index: 2,
      name: 'vdthf0',
      linkTo: 'if2',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1400,
      state: 'UP',
      link: { type: 'ether', address: '02:77:00:00:00:01', broadcast: 'ff:ff:ff:ff:ff:ff' },
      addresses: VDTHF0_ADDRESSES
    })
    expect(v.addresses[0]).toEqual({
      family: 4,
      address: '10.77.0.1',
      prefixLen: 24,
      scope: 'global',
      label: 'vdthf0',
      flags: []
    })
    expect(s.interfaces[0]).toMatchObject({ index: 1, mtu: 65536, state: 'UNKNOWN' })
  })

  it('reads ip addr of host B (a /32 on lo)', () => {
    const s = readIpAddr('b', fixture('ip-addr-b.txt'))
    expect(s.problems).toEqual([])
    expect(s.interfaces[0].addresses.map((a) => `${a.address}/${a.prefixLen}`)).toEqual([
      '127.0.0.1/8',
      '192.0.2.10/32',
      '::1/128'
    ])
  })

  it('reads ip -o addr', () => {
    const s = readIpAddr('o', fixture('ip-o-addr.txt'))
    expect(s.problems).toEqual([])
    expect(s.format).toBe('oneline')
    expect(s.interfaces.map((i) => [i.index, i.name, i.addresses.length])).toEqual([
      [1, 'lo', 2],
      [2, 'vdthf0', 3]
    ])
    expect(s.interfaces[1].addresses).toMatchObject(VDTHF0_ADDRESSES)
  })

  it('reads ip -j addr', () => {
    const s = readIpAddr('j', fixture('ip-j-addr.json.txt'))
    expect(s.problems).toEqual([])
    expect(s.format).toBe('json')
    expect(s.interfaces[1]).toMatchObject({
      index: 2,
      name: 'vdthf0',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1400,
      state: 'UP',
      link: { type: 'ether', address: '02:77:00:00:00:01' },
      addresses: VDTHF0_ADDRESSES
    })
  })

  it('reads the bridge an interface is a port of, from text and JSON', () => {
    const text = readIpAddr(
      't',
      '2: bp0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP group default qlen 1000\n' +
        '3: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000\n'
    )
    expect(text.interfaces.map((i) => [i.name, i.master, i.state])).toEqual([
      ['bp0', 'br0', 'UP'],
      ['br0', undefined, 'UP']
    ])
    const json = readIpAddr(
      'j',
      '[{"ifindex":2,"ifname":"bp0","link_index":2,"flags":["UP"],"mtu":1500,"master":"br0","operstate":"UP","addr_info":[]}]'
    )
    expect(json.interfaces[0]).toMatchObject({ name: 'bp0', master: 'br0' })
    // `bridge -d link`: each port's details on the line after it.
    const detail = readIpAddr(
      'b',
      '3: veth1@docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master docker0 state forwarding priority 32 cost 2\n' +
        '    hairpin off guard off root_block off fastleave off learning on flood on isolated off\n' +
        '4: veth2@docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master docker0 state forwarding priority 32 cost 2\n' +
        '    hairpin on guard off\n'
    )
    expect(detail.problems).toEqual([])
    expect(detail.interfaces.map((i) => [i.name, i.master, i.hairpin])).toEqual([
      ['veth1', 'docker0', false],
      ['veth2', 'docker0', true]
    ])
  })

  it('keeps the other lines and reports a garbled one with its line number', () => {
    const lines = fixture('ip-addr.txt').split('\n')
    lines.splice(2, 0, '    inet 10.1.2/xx scope global lo')
    const s = readIpAddr('x', lines.join('\n'))
    expect(s.problems).toHaveLength(1)
    expect(s.problems[0].at).toBe('line 3')
    expect(s.interfaces[1].addresses).toHaveLength(3)
    const j = readIpAddr('j', '[{"ifindex":1,\n"ifname":"lo",,}]')
    expect(j.problems[0].at).toBe('line 2')
  })
})
