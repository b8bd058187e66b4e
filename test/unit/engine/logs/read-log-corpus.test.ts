/** The public log corpus (../shared/corpus/logs): values written from reading the lines, and invariants over all of them. */
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readLog } from '../../../../src-main/engine/logs/read-log'
import { CORPUS } from '../../../support/run'

const DIR = resolve(CORPUS, 'logs')
const read = (name: string) => readLog(name, readFileSync(resolve(DIR, name), 'utf8'))

describe('corpus: netfilter lines', () => {
  it('elastic iptables-raw: every line a packet, prefixes and envelopes as written', () => {
    const r = read('elastic-integrations_test-iptables-raw.log')
    expect(r.problems).toEqual([])
    expect(r.events).toHaveLength(24)
    const [first, second, , deny, drop] = r.events
    expect(first.host).toBe('Hostname')
    expect(first.prefix).toBe('[wan-lan-default-D]')
    expect(first.time.wall).toEqual({
      month: 10,
      day: 10,
      hour: 7,
      minute: 25,
      second: 12,
      micros: 0
    })
    expect(second.time.utcUs).toBe(Date.UTC(2021, 2, 12, 14, 10, 18) * 1000)
    // `Jan  8 03:37:09 DENY: IN=...`: no host and no kernel tag; the prefix is what precedes IN=.
    expect(deny.prefix).toBe('DENY:')
    expect(deny.host).toBeUndefined()
    expect(deny.packet).toMatchObject({
      src: '192.168.2.71',
      proto: 'ICMP',
      icmpType: 3,
      icmpCode: 3,
      ttl: 118
    })
    expect(deny.packet!.quoted).toMatchObject({
      src: '192.168.2.83',
      dst: '192.168.173.191',
      proto: 'UDP',
      sport: 21458,
      dport: 62936,
      udpLen: 40,
      ttl: 54
    })
    expect(drop.prefix).toBe('iptables DROP_INPUT:')
    expect(drop.packet).toMatchObject({
      sport: 17805,
      dport: 445,
      window: 8192,
      flags: ['SYN'],
      id: 15743,
      df: true
    })
    const v6 = r.events[14]
    expect(v6.time.bootSec).toBe(16571.459614)
    expect(v6.packet).toMatchObject({
      in: '',
      out: 'lo',
      proto: 'ICMPv6',
      icmpType: 128,
      icmpId: 3427,
      icmpSeq: 1,
      flowLabel: 868225
    })
    expect(r.events[15].packet).toMatchObject({
      src: 'fe80::84:88ff:feae:790a',
      dst: 'ff02::16',
      mark: 0xd4
    })
    expect(r.events[16].packet).toMatchObject({ in: 'eth0.90', tos: 0x1c, prec: 0xe0, udpLen: 520 })
    expect(r.events[17].packet!.flags).toEqual(['ACK', 'PSH'])
    expect(r.events[21].packet).toMatchObject({ proto: 'ESP', spi: 0xcb886522 })
    expect(r.events[22]).toMatchObject({ host: 'Abc-A1', prefix: '[SOMETHING-1234-A]' })
    expect(r.events[23].packet).toMatchObject({ id: 6789, icmpId: 98765, icmpSeq: 30123, mark: 0 })
  })

  it('firewalld denied lines: CWR ECE SYN in the kernel’s order', () => {
    const r = read('snippets_firewalld_denied_kern.log')
    expect(r.events.map((e) => [e.prefix, e.host, e.packet!.dport, e.packet!.flags])).toEqual([
      ['filter_IN_public_REJECT:', 'vbox', 80, ['CWR', 'ECE', 'SYN']],
      ['filter_IN_public_REJECT:', 'vbox', 443, ['CWR', 'ECE', 'SYN']]
    ])
  })

  it('ubiquiti: truncated lines are problems with their line numbers, the rest is kept', () => {
    const r = read('elastic-integrations_test-ubiquiti.log')
    expect(r.events).toHaveLength(5)
    expect(r.problems.map((p) => p.at)).toEqual([
      'line 6',
      'line 7',
      'line 8',
      'line 9',
      'line 10',
      'line 11'
    ])
    expect(r.problems[0].message).toMatch(/no IN= OUT= fields/)
    expect(r.problems[0].raw).toContain('TTL=126 ID=15317')
  })

  it('a journald document from a log shipper: the message, its time and host', () => {
    const r = read('elastic-integrations_test-journald.json')
    expect(r.events).toHaveLength(1)
    expect(r.events[0]).toMatchObject({
      line: 42,
      host: 'f780e7ca37a7',
      prefix: 'iptables DROP_INPUT:'
    })
    expect(r.events[0].time.utcUs).toBe(Date.UTC(2022, 0, 12, 12, 43, 58, 224) * 1000)
    expect(r.events[0].packet).toMatchObject({
      sport: 443,
      dport: 40702,
      flags: ['RST'],
      window: 0
    })
  })
})

describe('corpus: other events', () => {
  it('conntrack table full in dmesg -T, syslog with boot stamps, bare and doubled forms', () => {
    const r = read('snippets_nf_conntrack_table_full.log')
    expect(r.problems).toEqual([])
    expect(r.events.map((e) => e.kind)).toEqual(Array(11).fill('conntrack-full'))
    expect(r.events[0].time.wall).toMatchObject({ year: 2018, month: 11, day: 20, hour: 22 })
    expect(r.events[4]).toMatchObject({ host: 'jobs', time: { bootSec: 38775494.393661 } })
    expect(r.events[8].time).toEqual({ bootSec: 1694413.644132 })
  })

  it('SELinux AVC denials: permission, process, port, contexts and the audit time', () => {
    const r = read('snippets_selinux_avc_name_connect_name_bind.log')
    expect(r.events).toHaveLength(11)
    expect(r.events[1].selinux).toEqual({
      permission: 'name_connect',
      comm: 'apache2',
      pid: 4915,
      port: 5432,
      dest: '5432',
      scontext: 'system_u:system_r:httpd_t:s0',
      tcontext: 'system_u:object_r:postgresql_port_t:s0',
      tclass: 'tcp_socket',
      permissive: false
    })
    expect(r.events[1].time).toEqual({ utcUs: 1425310677936000 })
    // The kernel-log form, with comm in hex because it holds a space.
    expect(r.events[4]).toMatchObject({
      host: 'mysql',
      selinux: { comm: 'rs:main Q:Reg', port: 11514 }
    })
    expect(r.events[4].time.utcUs).toBe(1427095441779000)
    expect(r.events[5].selinux).toMatchObject({ permission: 'name_bind', port: 11988 })
  })

  it('fail2ban Ban / Unban in its own log, syslog and the journal', () => {
    const r = read('fail2ban_recidive')
    expect(
      r.events.map((e) => [e.fail2ban!.jail, e.fail2ban!.action, e.fail2ban!.address])
    ).toEqual([
      ['sendmail', 'ban', '1.2.3.4'],
      ['sendmail', 'ban', '1.2.3.4'],
      ['sendmail', 'unban', '1.2.3.4'],
      ['recidive', 'ban', '1.2.3.4'],
      ['jail', 'ban', '10.0.0.7'],
      ['sendmail', 'ban', '1.2.3.4'],
      ['postfix-auth', 'ban', '192.0.2.1'],
      ['postfix-auth', 'ban', '192.0.2.2'],
      ['postfix-sasl', 'ban', '192.0.2.3']
    ])
    expect(r.events[0].time.wall).toEqual({
      year: 2006,
      month: 2,
      day: 13,
      hour: 15,
      minute: 52,
      second: 30,
      micros: 388000
    })
  })

  it('TCP-wrappers refusal in sshd’s log', () => {
    const r = read('fail2ban_sshd')
    expect(r.events).toHaveLength(1)
    expect(r.events[0]).toMatchObject({
      line: 49,
      kind: 'tcp-wrappers',
      daemon: 'sshd',
      client: '::ffff:218.249.210.161',
      host: 'Server'
    })
  })
})

describe('corpus: invariants over every file', () => {
  const files = readdirSync(DIR)
  it.each(files)(
    '%s: every line is an event, a problem or ignored; every SRC= line is read or a problem',
    (name) => {
      const text = readFileSync(resolve(DIR, name), 'utf8')
      const r = readLog(name, text)
      const nonEmpty = text.split(/\r?\n/).filter((l) => l.trim() !== '').length
      const merged = r.events.filter((e) => e.suppressedLine !== undefined).length
      expect(r.events.length + merged + r.problems.length + r.ignored).toBe(nonEmpty)
      if (r.wrappers.includes('json-document')) return
      const accounted = new Set([
        ...r.events.map((e) => e.line),
        ...r.problems.map((p) => Number(p.at.slice(5)))
      ])
      text.split(/\r?\n/).forEach((l, i) => {
        if (/\bSRC=\S/.test(l) && /\b(DST|PROTO)=/.test(l))
          expect(accounted.has(i + 1), `line ${i + 1}`).toBe(true)
      })
    }
  )
})
