import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readFirewalld } from '../../../../src-main/engine/firewalld/read-firewalld'
import { corpusFiles, filesUnder, FIXTURES } from './load'

describe('readFirewalld', () => {
  it('reads the corpus zones, services, policies and firewalld.conf', () => {
    const c = readFirewalld(corpusFiles())
    // RH-Satellite-6 includes foreman, a service neither in the corpus nor in the built-in table.
    expect(c.problems.map((p) => `${p.source} ${p.at}`)).toEqual([
      'usr/lib/firewalld/services/RH-Satellite-6.xml line 2'
    ])
    expect(c.policies.get('gateway-lan-to-work')?.disabled).toBe(true)
    expect(c.policies.get('allow-host-ipv6')?.disabled).toBe(false)
    expect([...c.zones.keys()].sort()).toEqual(
      ['block', 'dmz', 'drop', 'external', 'home', 'internal', 'public', 'trusted', 'work'].sort()
    )
    expect(c.conf).toMatchObject({ defaultZone: 'public', logDenied: 'off', backend: 'nftables' })
    const pub = c.zones.get('public')
    expect(pub?.services.map((s) => s.name)).toEqual(['ssh', 'dhcpv6-client'])
    expect(pub?.forward).toBe(true)
    expect(c.zones.get('block')?.target).toBe('%%REJECT%%')
    expect(c.zones.get('external')?.masquerade).toBe(true)
    expect(c.services.get('dhcpv6-client')?.destination.ipv6).toBeDefined()
    const ipv6 = c.policies.get('allow-host-ipv6')
    expect(ipv6).toMatchObject({
      priority: -15000,
      target: 'CONTINUE',
      ingressZones: ['ANY'],
      egressZones: ['HOST']
    })
    expect(ipv6?.rules[0].text).toBe(
      'rule family="ipv6" icmp-type name="neighbour-advertisement" accept'
    )
    expect(ipv6?.rules[0].where.line).toBe(7)
  })

  it('keeps every setting with its file and line', () => {
    const c = readFirewalld(filesUnder(resolve(FIXTURES, 'etc')))
    expect(c.problems).toEqual([])
    const pub = c.zones.get('public')
    expect(pub?.ports[0]).toEqual({
      port: { from: 8443, to: 8443, proto: 'tcp' },
      where: { file: 'zones/public.xml', line: 7 }
    })
    expect(pub?.rules.map((r) => [r.priority, r.where.line])).toEqual([
      [-10, 9],
      [0, 13],
      [5, 18]
    ])
    expect(pub?.rules[2].text).toBe(
      'rule priority="5" family="ipv4" source address="198.51.100.0/24" log prefix="late: " level="info" reject type="icmp-admin-prohibited"'
    )
    expect(c.services.get('samba')?.builtin).toBe(true)
    expect(c.services.has('netbios-ns')).toBe(true)
    expect(c.conf.logDenied).toBe('all')
  })

  it('reports bad XML with file and line and keeps the rest', () => {
    const text = readFileSync(resolve(FIXTURES, 'bad-zone.xml'), 'utf8')
    const c = readFirewalld([{ path: 'zones/bad.xml', text }])
    const at = c.problems.map((p) => `${p.source} ${p.at}: ${p.message}`)
    expect(at).toContain(
      'zones/bad.xml line 4: <port> needs port="N[-M]" and protocol="tcp|udp|sctp|dccp"'
    )
    expect(
      at.some((a) => a.startsWith('zones/bad.xml line 5:') && a.includes("'no-such-service'"))
    ).toBe(true)
    expect(at.some((a) => a.startsWith('zones/bad.xml line 6: rich rule: family'))).toBe(true)
    expect(at.some((a) => a.startsWith('zones/bad.xml line 8: <interface> is never closed'))).toBe(
      true
    )
    const z = c.zones.get('bad')
    expect(z?.services.map((s) => s.name)).toEqual(['ssh', 'no-such-service'])
    expect(z?.ports.map((p) => p.port.from)).toEqual([8080])
    expect(z?.interfaces.map((i) => i.name)).toEqual(['eth9'])
  })

  it('combines zones split into zones/NAME/*.xml, as firewalld does', () => {
    const at = readFileSync(
      resolve(FIXTURES, '../../../../shared/corpus/firewalld/firewalld_features_zone_combine.at'),
      'utf8'
    )
    const files = [
      ...at.matchAll(/AT_DATA\(\[\.\/(zones\/combined\/zone\d\.xml)\], \[dnl\n([\s\S]*?)\]\)/g)
    ].map((m) => ({ path: m[1], text: m[2] }))
    expect(files).toHaveLength(3)
    const c = readFirewalld(files)
    const z = c.zones.get('combined')
    // The .at file's --list-all of the combined zone: services: https ssh, ports: 12345/tcp.
    expect(z?.services.map((s) => s.name).sort()).toEqual(['https', 'ssh'])
    expect(z?.ports.map((p) => `${p.port.from}/${p.port.proto}`)).toEqual(['12345/tcp'])
  })

  it('says so when a file is not firewalld configuration', () => {
    const c = readFirewalld([{ path: 'notes.txt', text: 'hello\nworld\n' }])
    expect(c.problems[0]).toMatchObject({ source: 'notes.txt', at: 'line 1' })
  })

  it('lets /etc/firewalld override /usr/lib/firewalld', () => {
    const c = readFirewalld([
      { path: 'etc/firewalld/zones/public.xml', text: '<zone target="DROP"/>' },
      { path: 'usr/lib/firewalld/zones/public.xml', text: '<zone/>' }
    ])
    expect(c.zones.get('public')?.target).toBe('DROP')
    expect(c.problems).toEqual([])
  })

  it('reads a service port without a number as its protocol, as firewalld does (ipsec.xml)', () => {
    const c = readFirewalld([
      {
        path: 'usr/lib/firewalld/services/ipsec.xml',
        text: '<service>\n  <port protocol="ah" port=""/>\n  <port protocol="esp" port=""/>\n  <port protocol="udp" port="500"/>\n</service>'
      }
    ])
    expect(c.problems).toEqual([])
    expect(c.services.get('ipsec')).toMatchObject({
      protocols: ['ah', 'esp'],
      ports: [{ from: 500, to: 500, proto: 'udp' }]
    })
  })
})
