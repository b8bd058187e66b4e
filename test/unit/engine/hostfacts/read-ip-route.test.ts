import { describe, expect, it } from 'vitest'
import { readIpRoute } from '../../../../src-main/engine/hostfacts/read-ip-route'
import { fixture } from './fixture'

const MAIN = [
  { type: 'unicast', family: 4, dst: 'default', prefixLen: 0, via: '10.77.0.2', dev: 'vdthf0' },
  {
    family: 4,
    dst: '10.77.0.0/24',
    prefixLen: 24,
    dev: 'vdthf0',
    proto: 'kernel',
    scope: 'link',
    src: '10.77.0.1'
  },
  { family: 4, dst: '198.51.100.0/24', via: '10.77.0.254', dev: 'vdthf0', metric: 50 }
]

describe('readIpRoute', () => {
  it('reads ip route (host A)', () => {
    const s = readIpRoute('r', fixture('ip-route.txt'))
    expect(s.problems).toEqual([])
    expect(s.routes).toMatchObject(MAIN)
    expect(s.routes[0].metric).toBeUndefined()
  })

  it('reads ip -j route', () => {
    const s = readIpRoute('j', fixture('ip-j-route.json.txt'))
    expect(s.problems).toEqual([])
    expect(s.format).toBe('json')
    expect(s.routes).toMatchObject(MAIN)
  })

  it('reads ip -6 route; its default is IPv6', () => {
    const s = readIpRoute('6', fixture('ip-6-route.txt'))
    expect(s.problems).toEqual([])
    expect(s.routes.map((r) => [r.family, r.dst, r.via, r.metric])).toEqual([
      [6, 'fd77::/64', undefined, 256],
      [6, 'fe80::/64', undefined, 256],
      [6, 'default', 'fd77::2', 1024]
    ])
  })

  it('reads a table shown on its own, and multipath', () => {
    const s = readIpRoute('t', fixture('ip-route-table100.txt'))
    expect(s.routes).toMatchObject([
      { dst: '203.0.113.0/24', dev: 'vdthf0', scope: 'link', src: '10.77.0.1' }
    ])
    const m = readIpRoute(
      'm',
      'default proto static metric 10 \n\tnexthop via 10.0.0.1 dev eth0 weight 1 \n\tnexthop via 10.0.1.1 dev eth1 weight 2 \nblackhole 10.9.0.0/16 \nlocal 10.0.0.5 dev eth0 table local proto kernel scope host src 10.0.0.5 \n'
    )
    expect(m.problems).toEqual([])
    expect(m.routes[0].nexthops).toEqual([
      { via: '10.0.0.1', dev: 'eth0', weight: 1 },
      { via: '10.0.1.1', dev: 'eth1', weight: 2 }
    ])
    expect(m.routes[1]).toMatchObject({ type: 'blackhole', dst: '10.9.0.0/16' })
    expect(m.routes[2]).toMatchObject({ type: 'local', dst: '10.0.0.5/32', table: 'local' })
  })

  it('keeps the other lines and reports a garbled one with its line number', () => {
    const lines = fixture('ip-route.txt').split('\n')
    lines.splice(1, 0, '10.300.0.0/16 dev vdthf0')
    const s = readIpRoute('x', lines.join('\n'))
    expect(s.problems).toHaveLength(1)
    expect(s.problems[0].at).toBe('line 2')
    expect(s.routes).toHaveLength(3)
  })
})
