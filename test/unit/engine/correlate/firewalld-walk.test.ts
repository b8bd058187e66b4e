import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { InputInfo } from '../../../../src-main/shared/incident'
import { createEvidence, hostOf } from '../../../../src-main/engine/correlate/evidence'
import { firewalldLogCause } from '../../../../src-main/engine/correlate/firewalld-log'
import {
  firewalldBlock,
  firewalldCause,
  firewalldEvidence,
  firewalldFixText,
  firewalldWalk
} from '../../../../src-main/engine/correlate/firewalld-walk'
import { hostFirewalld } from '../../../../src-main/engine/correlate/host-firewalld'
import { simPacket, type Hop, type SimPacket } from '../../../../src-main/engine/correlate/simulate'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'
import { readTextInput } from '../../../../src-main/engine/inputs/read-text-input'
import type { LoggedPacket } from '../../../../src-main/engine/logs/log-event'
import { filesUnder, FIXTURES } from '../firewalld/load'

const ev = createEvidence()
const fw = hostOf(ev, 'fw')
fw.firewalldFiles.push(...filesUnder(resolve(FIXTURES, 'etc')))
const plain = hostOf(ev, 'client')

const ends = {
  src: '172.16.0.9',
  dst: '10.0.0.1',
  farSrc: '172.16.0.9',
  farDst: '10.0.0.1'
}
/** A hop into the host; `null` is an input interface Verdict does not know. */
const hopAt = (host = fw, iif: string | null = 'eth0'): Hop => ({
  host,
  ends,
  role: 'server',
  path: 'input',
  iif: iif ?? undefined
})
const syn = (spec: string): SimPacket => simPacket(spec, 'the SYN') as SimPacket

describe('firewalld walks of a flow', () => {
  it('a SYN to a port the public zone does not allow is rejected by the zone target', () => {
    const b = firewalldBlock([hopAt()], () => syn('tcp 172.16.0.9:40000 > 10.0.0.1:8080 syn'))
    expect(b).toBeDefined()
    const w = b!
    expect(w.verdict).toMatchObject({ verdict: 'reject', zone: 'public' })
    expect(firewalldCause(w)).toEqual({
      kind: 'policy',
      system: 'firewalld',
      host: 'fw',
      file: 'zones/public.xml',
      line: 2,
      table: 'inet firewalld',
      chain: 'filter_IN_public_to_HOST',
      rule: 'target: default',
      verdict: 'reject with icmpx admin-prohibited'
    })
    expect(firewalldFixText(w)).toBe(
      'firewall-cmd --zone=public --add-service=webapp --permanent\nfirewall-cmd --reload'
    )
    const e = firewalldEvidence(w)
    if (e.kind !== 'simulation') throw new Error('not a simulation')
    expect(e).toMatchObject({ file: 'zones/public.xml', host: 'fw', verdict: 'reject' })
    expect(e.text).toContain('zone public')
    // The zone's chains come first; the LogDenied rule and the target close the dispatch chain.
    expect(e.trace.map((s) => s.chain)).toEqual([
      'filter_INPUT',
      'filter_INPUT_dispatch',
      'filter_IN_public_to_HOST',
      'filter_IN_public',
      'filter_IN_public_pre',
      'filter_IN_public_log',
      'filter_IN_public_deny',
      'filter_IN_public_allow',
      'filter_IN_public_post',
      'filter_IN_public_to_HOST',
      'filter_IN_public_to_HOST'
    ])
    expect(e.trace.at(-2)).toMatchObject({
      action: 'log',
      rule: 'log prefix "filter_IN_public_REJECT: "'
    })
    expect(e.trace.at(-1)).toMatchObject({
      kind: 'policy',
      matched: true,
      line: 2,
      rule: 'target: default',
      action: 'reject with icmpx admin-prohibited'
    })
  })

  it("names the chain as the host's own nft snapshot calls it (firewalld 1: filter_IN_public)", () => {
    const ev1 = createEvidence()
    const old = hostOf(ev1, 'fw1')
    old.firewalldFiles.push(...fw.firewalldFiles)
    const info: InputInfo = {
      path: 'fw1/ruleset.nft',
      kind: 'ruleset',
      format: 'nft',
      records: 0,
      warnings: [],
      errors: []
    }
    // What firewalld 1.3 lists: the zone's verdict in filter_IN_public, no _to_HOST chain.
    readTextInput(
      info,
      'table inet firewalld {\n\tchain filter_IN_public {\n\t\tlog prefix "filter_IN_public_REJECT: "\n\t\treject with icmpx admin-prohibited\n\t}\n}\n',
      old
    )
    const b = firewalldBlock([hopAt(old)], () => syn('tcp 172.16.0.9:40000 > 10.0.0.1:8080 syn'))
    expect(firewalldCause(b!).chain).toBe('filter_IN_public')
    // Without a snapshot, the chain firewalld 2 makes.
    const w = firewalldBlock([hopAt()], () => syn('tcp 172.16.0.9:40000 > 10.0.0.1:8080 syn'))
    expect(firewalldCause(w!).chain).toBe('filter_IN_public_to_HOST')
  })

  it('names the line that sets a DROP target as written', () => {
    const w = firewalldWalk(hopAt(fw, 'dmz0'), syn('tcp 172.16.0.9:40000 > 10.0.0.1:22 syn'))!
    expect(firewalldCause(w)).toMatchObject({
      kind: 'policy',
      file: 'zones/dmz.xml',
      line: 2,
      rule: '<zone target="DROP">',
      verdict: 'drop'
    })
  })

  it('accepts a service port, and a path of hosts that all accept has no block', () => {
    const w = firewalldWalk(hopAt(), syn('tcp 172.16.0.9:40000 > 10.0.0.1:22 syn'))!
    expect(w.verdict).toMatchObject({ verdict: 'accept', chain: 'filter_IN_public_allow' })
    expect(w.verdict.decidedBy).toMatchObject({ kind: 'service', text: 'ssh', line: 5 })
    expect(firewalldFixText(w)).toBeUndefined()
    expect(
      firewalldBlock([hopAt(plain), hopAt()], () => syn('tcp 172.16.0.9:40000 > 10.0.0.1:22 syn'))
    ).toBeUndefined()
  })

  it('a rich rule drop names its text and line, and the fix removes it', () => {
    const hops = [hopAt(plain), hopAt()]
    const b = firewalldBlock(hops, () => syn('tcp 203.0.113.5:40000 > 10.0.0.1:22 syn'))!
    expect(b.hop.host.name).toBe('fw')
    const text = 'rule priority="-10" family="ipv4" source address="203.0.113.0/24" drop'
    expect(firewalldCause(b)).toMatchObject({
      kind: 'rule',
      file: 'zones/public.xml',
      line: 9,
      chain: 'filter_IN_public_pre',
      rule: text,
      verdict: 'drop'
    })
    expect(firewalldFixText(b)).toBe(
      `firewall-cmd --zone=public --remove-rich-rule='${text}' --permanent\nfirewall-cmd --reload`
    )
    // To a port the zone does not open, the zone's target would refuse it once the rich rule is
    // gone: the fix opens the port as well (by the service the configuration defines for it).
    const closed = firewalldBlock(hops, () => syn('tcp 203.0.113.5:40000 > 10.0.0.1:8080 syn'))!
    expect(firewalldCause(closed).rule).toBe(text)
    expect(firewalldFixText(closed)).toBe(
      [
        `firewall-cmd --zone=public --remove-rich-rule='${text}' --permanent`,
        'firewall-cmd --zone=public --add-service=webapp --permanent',
        'firewall-cmd --reload'
      ].join('\n')
    )
  })

  it('is uncertain when the zone is the default only because the interface is unknown', () => {
    const w = firewalldWalk(hopAt(fw, null), syn('tcp 172.16.0.9:40000 > 10.0.0.1:8080 syn'))!
    expect(w.verdict.uncertain).toBe(true)
    const e = firewalldEvidence(w)
    expect(e.weight).toBe('suggests')
    if (e.kind === 'simulation')
      expect(e.uncertainWhy).toEqual([
        'the input interface is not known: zone public (the default) is assumed'
      ])
  })

  it('says nothing for a host without firewalld', () => {
    expect(firewalldWalk(hopAt(plain), syn('tcp 172.16.0.9:40000 > 10.0.0.1:22 syn'))).toBe(
      undefined
    )
  })
})

describe('firewalld log prefixes', () => {
  it('maps a LogDenied prefix to its zone and the zone target', () => {
    const l = firewalldLogCause(fw, 'filter_IN_public_REJECT: ')
    expect(l).toMatchObject({
      zone: 'public',
      passedLog: false,
      cause: {
        kind: 'policy',
        system: 'firewalld',
        file: 'zones/public.xml',
        line: 2,
        chain: 'filter_IN_public_to_HOST',
        verdict: 'reject'
      }
    })
    expect(firewalldLogCause(fw, 'filter_IN_dmz_DROP:')?.cause).toMatchObject({
      file: 'zones/dmz.xml',
      rule: '<zone target="DROP">'
    })
    expect(firewalldLogCause(fw, 'filter_IN_nosuchzone_DROP: ')).toBeUndefined()
  })

  it('walks the logged packet and finds the line it produced', () => {
    const p: LoggedPacket = {
      in: 'eth0',
      out: '',
      src: '172.16.0.9',
      dst: '10.0.0.1',
      proto: 'TCP',
      sport: 40000,
      dport: 8080,
      flags: ['SYN']
    } as LoggedPacket
    const l = firewalldLogCause(fw, 'filter_IN_public_REJECT: ', p)!
    expect(l.passedLog).toBe(true)
    expect(l.walk?.verdict.verdict).toBe('reject')
    expect(l.cause).toMatchObject({ kind: 'policy', line: 2, file: 'zones/public.xml' })
  })

  it("maps a rich rule's own log prefix to the rule", () => {
    expect(firewalldLogCause(fw, 'late: ')).toMatchObject({
      zone: 'public',
      cause: { kind: 'rule', line: 18, chain: 'filter_IN_public_post', verdict: 'reject' }
    })
  })
})

describe('firewalld files on a host', () => {
  it('keeps each file on its host, counts its definitions and reports bad lines', () => {
    const host = hostOf(createEvidence(), 'gw')
    const read = (path: string, text: string): InputInfo => {
      const d = detectTextKind(text)
      const info = { path, kind: d.kind, format: d.format, records: 0, warnings: [], errors: [] }
      readTextInput(info as InputInfo, text, host)
      return info as InputInfo
    }
    const zone = read('gw/etc/firewalld/zones/public.xml', fw.firewalldFiles[0].text)
    expect(zone).toMatchObject({ kind: 'ruleset', records: 1, warnings: [] })
    const conf = readFileSync(resolve(FIXTURES, 'etc/firewalld.conf'), 'utf8')
    expect(read('gw/etc/firewalld/firewalld.conf', conf)).toMatchObject({
      format: 'firewalld-conf',
      records: 1
    })
    const list = readFileSync(resolve(FIXTURES, 'list-all-zones.txt'), 'utf8')
    expect(read('gw/list-all-zones.txt', list).format).toBe('firewalld-list')
    const bad = read('gw/bad-zone.xml', readFileSync(resolve(FIXTURES, 'bad-zone.xml'), 'utf8'))
    expect(bad.format).toBe('firewalld')
    expect(bad.warnings.length).toBeGreaterThan(0)
    expect(bad.warnings.every((w) => /^line \d+: /.test(w))).toBe(true)
    expect(host.firewalldFiles.map((f) => f.path)).toHaveLength(4)
    const config = hostFirewalld(host)!
    expect(config.file).toBe('gw')
    expect(config.value.zones.has('public')).toBe(true)
    expect(hostFirewalld(host)).toBe(config)
  })
})
