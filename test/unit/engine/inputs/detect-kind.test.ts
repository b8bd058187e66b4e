import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectKind } from '../../../../src-main/engine/inputs/detect-kind'
import { CORPUS, ROOT } from '../../../support/run'

const kindOf = (text: string) => detectKind(new TextEncoder().encode(text))

describe('detecting a file by its content, never its name', () => {
  it('knows captures, rulesets and ipset snapshots', () => {
    expect(detectKind(readFileSync(resolve(CORPUS, 'pcaps/zeek_syn.pcap')))).toEqual({
      kind: 'capture',
      format: 'capture'
    })
    expect(kindOf('*filter\n:INPUT DROP [0:0]\nCOMMIT\n')).toEqual({
      kind: 'ruleset',
      format: 'iptables-save'
    })
    expect(kindOf('table inet filter {\n}\n')).toEqual({ kind: 'ruleset', format: 'nft' })
    expect(kindOf('flush ruleset\ntable t {\n}\n')).toEqual({ kind: 'ruleset', format: 'nft' })
    expect(kindOf('{"nftables": [{"metainfo": {}}]}')).toEqual({
      kind: 'ruleset',
      format: 'nft-json'
    })
    expect(kindOf('create blocked hash:net family inet\nadd blocked 10.0.0.0/8\n')).toEqual({
      kind: 'ruleset',
      format: 'ipset'
    })
  })

  it('calls everything else unknown, text or binary', () => {
    expect(kindOf('what happened at 10:00\n')).toEqual({ kind: 'unknown', format: 'text' })
    expect(detectKind(Uint8Array.from({ length: 200 }, (_, i) => (i * 7) % 31))).toEqual({
      kind: 'unknown',
      format: 'binary'
    })
  })
})

describe('detecting firewalld configuration', () => {
  const fixtures = resolve(ROOT, 'test/fixtures/firewalld')
  const corpus = resolve(CORPUS, 'firewalld')

  it('knows zone, service, policy, ipset, icmptype, helper and lockdown XML by its root', () => {
    const xml = readdirSync(corpus).filter((n) => n.endsWith('.xml'))
    expect(xml.length).toBeGreaterThan(30)
    for (const name of xml)
      expect([name, kindOf(readFileSync(resolve(corpus, name), 'utf8'))]).toEqual([
        name,
        { kind: 'ruleset', format: 'firewalld' }
      ])
    expect(
      kindOf(
        '<?xml version="1.0"?>\n<!-- mine -->\n<ipset type="hash:ip">\n<entry>10.0.0.1</entry>\n</ipset>\n'
      ).format
    ).toBe('firewalld')
    expect(kindOf('\uFEFF<zone target="DROP"/>\n').format).toBe('firewalld')
    // lockdown-whitelist.xml as firewalld writes it: configuration, not a stranger.
    const lockdown = [
      '<?xml version="1.0" encoding="utf-8"?>',
      '<whitelist>',
      '  <command name="/usr/bin/python3 /usr/bin/firewall-config"/>',
      '  <selinux context="system_u:system_r:NetworkManager_t:s0"/>',
      '  <user id="0"/>',
      '</whitelist>',
      ''
    ].join('\n')
    expect(kindOf(lockdown)).toEqual({ kind: 'ruleset', format: 'firewalld' })
    expect(kindOf(readFileSync(resolve(fixtures, 'bad-zone.xml'), 'utf8')).format).toBe('firewalld')
  })

  it('knows firewalld.conf and firewall-cmd --list-all output', () => {
    for (const f of [
      resolve(corpus, 'firewalld_firewalld.conf'),
      resolve(fixtures, 'etc/firewalld.conf')
    ])
      expect(kindOf(readFileSync(f, 'utf8'))).toEqual({ kind: 'ruleset', format: 'firewalld-conf' })
    expect(kindOf(readFileSync(resolve(fixtures, 'list-all-zones.txt'), 'utf8'))).toEqual({
      kind: 'ruleset',
      format: 'firewalld-list'
    })
    expect(kindOf('public (active)\n  target: default\n  icmp-block-inversion: no\n').format).toBe(
      'firewalld-list'
    )
    expect(
      kindOf('allow-host-ipv6 (active)\n  priority: -15000\n  target: CONTINUE\n').format
    ).toBe('firewalld-list')
  })

  it('does not take other XML for firewalld', () => {
    const other = [
      '<service>\n  <id>app</id>\n  <executable>app.exe</executable>\n</service>\n',
      '<?xml version="1.0"?>\n<config>\n  <zone name="a"/>\n</config>\n',
      '<zone>\n  <interface name="eth0"/>\n  <record>x</record>\n</zone>\n',
      '<!DOCTYPE service-group SYSTEM "avahi-service.dtd">\n<service-group>\n<service><type>_ssh._tcp</type></service>\n</service-group>\n',
      'see <zone> in the docs\n'
    ]
    for (const text of other) expect(kindOf(text).format).not.toMatch(/^firewalld/)
  })

  it('takes no corpus file of another kind for firewalld', () => {
    let n = 0
    for (const dir of ['iptables', 'nft', 'logs', 'cloud']) {
      const walk = (d: string): void => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = resolve(d, e.name)
          if (e.isDirectory()) walk(p)
          else {
            n++
            expect([p, detectKind(readFileSync(p)).format]).not.toEqual([
              p,
              expect.stringMatching(/^firewalld/)
            ])
          }
        }
      }
      walk(resolve(CORPUS, dir))
    }
    expect(n).toBeGreaterThan(200)
  })
})
