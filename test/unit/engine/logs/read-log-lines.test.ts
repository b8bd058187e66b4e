/** Single lines: bad input, conntrack forms, suppressed counts, wrappers and the other event kinds. */
import { describe, expect, it } from 'vitest'
import { readLog } from '../../../../src-main/engine/logs/read-log'
import { detectTextKind } from '../../../../src-main/engine/inputs/detect-kind'

const LOG =
  'IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=192.0.2.1 DST=198.51.100.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0'

describe('bad netfilter lines become problems; the rest of the file is kept', () => {
  it.each([
    ['SRC= missing', LOG.replace('SRC=192.0.2.1 ', ''), 'no SRC= field'],
    ['a bad number', LOG.replace('TTL=64', 'TTL=6x4'), 'bad number in TTL=6x4'],
    [
      'a bad address',
      LOG.replace('DST=198.51.100.2', 'DST=198.51.100'),
      'bad address in DST=198.51.100'
    ],
    [
      'a truncated bracket',
      `${LOG.replace('PROTO=TCP', 'PROTO=ICMP TYPE=3 CODE=3 [SRC=198.51.100.2')}`,
      'unclosed [ at column'
    ],
    ['PROTO= missing', LOG.replace(/PROTO=.*$/, ''), 'no PROTO= field']
  ])('%s', (_, bad, message) => {
    const text = `Nov 21 10:00:00 fw kernel: DROP: ${LOG}\nNov 21 10:00:01 fw kernel: DROP: ${bad}\nNov 21 10:00:02 fw sshd[1]: hello\n`
    const r = readLog('fw.log', text)
    expect(r.events).toHaveLength(1)
    expect(r.ignored).toBe(1)
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]).toMatchObject({ source: 'fw.log', at: 'line 2' })
    expect(r.problems[0].message).toContain(message)
    expect(r.problems[0].raw).toContain(bad.slice(0, 20))
  })

  it('keeps no field named like a built-in property (constructor=, toString=)', () => {
    const odd = LOG.replace('TTL=64', 'TTL=64 constructor=7').replace('URGP=0', 'URGP=0 toString=5')
    const r = readLog('fw.log', `Nov 21 10:00:00 fw kernel: DROP: ${odd}\n`)
    expect(r.problems).toEqual([])
    const packet = r.events[0].packet!
    expect(Object.keys(packet).filter((k) => !/^[a-z][A-Za-z]*$/.test(k))).toEqual([])
    expect(packet).toMatchObject({ ttl: 64, sport: 40000, dport: 22, urgp: 0 })
  })

  it('never throws on garbage and counts every line', () => {
    const r = readLog('x', '\u0000\u0001garbage\n{"MESSAGE": \n[[[[\n<999>\n\n')
    expect(r.events.length + r.problems.length + r.ignored).toBe(4)
    expect(r.problems.map((p) => p.at)).toEqual(['line 2'])
    expect(r.lines).toBe(5)
  })
})

describe('conntrack', () => {
  it('old and 6.x table-full forms; the netns inode', () => {
    const r = readLog(
      'k',
      [
        '[ 10.000001] nf_conntrack: table full, dropping packet',
        '[ 10.000002] nf_conntrack: nf_conntrack: table full in netns 4026531840, dropping packet',
        '[ 10.000003] nf_conntrack: default automatic helper assignment has been turned off for security reasons'
      ].join('\n')
    )
    expect(r.events.map((e) => [e.kind, e.netns, e.message])).toEqual([
      ['conntrack-full', undefined, undefined],
      ['conntrack-full', '4026531840', undefined],
      [
        'conntrack',
        undefined,
        'default automatic helper assignment has been turned off for security reasons'
      ]
    ])
  })

  it('net_ratelimit’s count joins the table-full line after it; nf_conntrack’s own count is an event', () => {
    const r = readLog(
      'k',
      [
        '[ 20.0] net_ratelimit: 312 callbacks suppressed',
        '[ 20.1] nf_conntrack: nf_conntrack: table full in netns 4026531840, dropping packet',
        '[ 21.0] nf_conntrack: 45 callbacks suppressed',
        '[ 22.0] net_ratelimit: 7 callbacks suppressed',
        '[ 22.1] eth0: link up'
      ].join('\n')
    )
    expect(r.events.map((e) => [e.kind, e.line, e.suppressed, e.suppressedLine])).toEqual([
      ['conntrack-full', 2, 312, 1],
      ['conntrack-full', 3, 45, undefined]
    ])
    // The count before an unrelated line joins nothing: both are ignored.
    expect(r.ignored).toBe(2)
  })
})

describe('other events and wrappers', () => {
  it('TCP-wrappers with and without a host name', () => {
    const r = readLog(
      'auth.log',
      [
        'Nov 21 10:00:00 srv sshd[811]: refused connect from client.example (192.0.2.9)',
        'Nov 21 10:00:01 srv in.telnetd[812]: refused connect from 192.0.2.10'
      ].join('\n')
    )
    expect(r.events.map((e) => [e.kind, e.daemon, e.client, e.host])).toEqual([
      ['tcp-wrappers', 'sshd', '192.0.2.9', 'srv'],
      ['tcp-wrappers', 'in.telnetd', '192.0.2.10', 'srv']
    ])
  })

  it('an AVC denial with permissive=1 and src=, from the kernel log', () => {
    const r = readLog(
      'k',
      '[  99.5] audit: type=1400 audit(1700000000.123:456): avc:  denied  { name_bind } for  pid=42 comm="httpd" src=8081 scontext=a tcontext=b tclass=tcp_socket permissive=1'
    )
    expect(r.events[0].selinux).toEqual({
      permission: 'name_bind',
      comm: 'httpd',
      pid: 42,
      port: 8081,
      scontext: 'a',
      tcontext: 'b',
      tclass: 'tcp_socket',
      permissive: true
    })
    expect(r.events[0].time).toEqual({ bootSec: 99.5, utcUs: 1700000000123000 })
  })

  it('RFC 5424 with structured data and a non-kernel app', () => {
    const r = readLog(
      'x',
      '<38>1 2026-11-21T10:00:00Z fw sshd 811 - [meta x="1"] refused connect from 192.0.2.9'
    )
    expect(r.wrappers).toEqual(['rfc5424'])
    expect(r.events[0]).toMatchObject({
      kind: 'tcp-wrappers',
      daemon: 'sshd',
      host: 'fw',
      client: '192.0.2.9'
    })
    expect(r.events[0].time.utcUs).toBe(Date.UTC(2026, 10, 21, 10) * 1000)
  })

  it('nft log with bridge interfaces, UID/GID and an IPv4 fragment', () => {
    const r = readLog(
      'k',
      '[ 5.0] br-in: IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth2 MAC=aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:08:00 SRC=10.0.0.1 DST=10.0.0.2 LEN=1500 TOS=0x00 PREC=0x00 TTL=63 ID=7 MF FRAG:185 PROTO=UDP UID=1000 GID=1000 MARK=0x10'
    )
    expect(r.events[0].packet).toMatchObject({
      physIn: 'veth1',
      physOut: 'veth2',
      mf: true,
      fragOffset: 185,
      proto: 'UDP',
      uid: 1000,
      gid: 1000,
      mark: 16
    })
    expect(r.events[0].prefix).toBe('br-in:')
  })

  it('frag-needed: MTU= after the quoted packet', () => {
    const r = readLog(
      'k',
      '[ 6.0] IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=576 TOS=0x00 PREC=0xC0 TTL=64 ID=9 PROTO=ICMP TYPE=3 CODE=4 [SRC=10.0.0.2 DST=10.0.0.3 LEN=1500 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 ACK URGP=0 ] MTU=1400'
    )
    expect(r.events[0].prefix).toBe('')
    expect(r.events[0].packet).toMatchObject({
      mtu: 1400,
      quoted: { sport: 1, dport: 2, flags: ['ACK'] }
    })
  })
})

describe('martian packets (log_martians)', () => {
  const dmesg = [
    '[78731.134273] IPv4: martian source 10.1.0.2 from 10.2.0.2, on dev rb',
    '[78731.134289] ll header: 00000000: ea 51 d7 14 f9 4f 5e 08 7a bc 74 f8 08 00',
    '[78752.842472] IPv4: martian source 10.3.0.1 from 10.2.0.2, on dev rb',
    '[78752.842485] ll header: 00000000: ff ff ff ff ff ff ca 13 fb a8 99 92 08 06',
    '[78760.000000] IPv4: martian destination 0.0.0.0 from 10.9.0.1, dev eth0',
    ''
  ].join('\n')

  it('reads each drop with its addresses, device, and whether it was an ARP request', () => {
    expect(detectTextKind(dmesg)).toEqual({ kind: 'log', format: 'kernel-log' })
    const r = readLog('dmesg.txt', dmesg)
    expect(r.problems).toEqual([])
    expect(r.events.map((e) => [e.kind, e.line, e.martian])).toEqual([
      ['martian', 1, { what: 'source', dst: '10.1.0.2', src: '10.2.0.2', dev: 'rb', arp: false }],
      ['martian', 3, { what: 'source', dst: '10.3.0.1', src: '10.2.0.2', dev: 'rb', arp: true }],
      ['martian', 5, { what: 'destination', dst: '0.0.0.0', src: '10.9.0.1', dev: 'eth0' }]
    ])
    // The link-layer header lines belong to the martian before them.
    expect(r.ignored).toBe(2)
  })
})
