/** Lines the kernel wrote in the lab (test/fixtures/logs), read without root. */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readLog } from '../../../../src-main/engine/logs/read-log'
import { dmesgMessage, journalBytes, WRAPPERS } from './wrap-kernel-line'

const DIR = resolve(import.meta.dirname, '../../../fixtures/logs')
const raw = readFileSync(resolve(DIR, 'lab-dmesg.txt'), 'utf8')
const human = readFileSync(resolve(DIR, 'lab-dmesg-T.txt'), 'utf8')
const lines = raw.trimEnd().split('\n')

describe('kernel-written netfilter lines', () => {
  const r = readLog('lab-dmesg.txt', raw)

  it('reads every line as a packet', () => {
    expect(r.problems).toEqual([])
    expect(r.ignored).toBe(0)
    expect(r.events.map((e) => e.prefix)).toEqual([
      'vle4329b-IPT-SYN:',
      'vle4329b IPT UDP',
      '[vle4329b ERR]',
      'vle4329b-NFT-PING:',
      'vle4329b-NFT-PING6:',
      'vle4329b-NFT-SYN6:',
      'vle4329b-IP6-UDP:',
      'vle4329b-IP6-ERR:'
    ])
    expect(r.wrappers).toEqual(['dmesg'])
  })

  it('the TCP SYN with --log-tcp-sequence', () => {
    expect(r.events[0].time).toEqual({ bootSec: 9349.826775 })
    expect(r.events[0].packet).toEqual({
      in: 'b0',
      out: '',
      mac: 'da:da:f2:1e:cb:15:32:05:f7:41:92:8e:08:00',
      src: '10.93.0.1',
      dst: '10.93.0.2',
      len: 60,
      tos: 0,
      prec: 0,
      ttl: 64,
      id: 60210,
      df: true,
      proto: 'TCP',
      sport: 36208,
      dport: 7001,
      seq: 3326584961,
      ack: 0,
      window: 64240,
      res: 0,
      flags: ['SYN'],
      urgp: 0
    })
  })

  it('the ICMP port unreachable and the UDP packet it quotes', () => {
    const p = r.events[2].packet!
    expect(p).toMatchObject({ in: 'a0', src: '10.93.0.2', dst: '10.93.0.1', len: 61, prec: 0xc0 })
    expect(p).toMatchObject({ id: 44639, proto: 'ICMP', icmpType: 3, icmpCode: 3 })
    expect(p.df).toBeUndefined()
    expect(p.quoted).toEqual({
      in: '',
      out: '',
      src: '10.93.0.1',
      dst: '10.93.0.2',
      len: 33,
      tos: 0,
      prec: 0,
      ttl: 64,
      id: 28295,
      df: true,
      proto: 'UDP',
      sport: 53582,
      dport: 7002,
      udpLen: 13
    })
    // The quoted packet is the UDP datagram logged on the other side.
    expect(r.events[1].packet).toMatchObject({ id: 28295, sport: 53582, len: 33, udpLen: 13 })
  })

  it('ICMP echo and IPv6 (addresses in their short form)', () => {
    expect(r.events[3].packet).toMatchObject({
      icmpType: 8,
      icmpCode: 0,
      icmpId: 16041,
      icmpSeq: 1
    })
    expect(r.events[4].packet).toMatchObject({
      src: 'fd93::1',
      dst: 'fd93::2',
      len: 104,
      tc: 0,
      hopLimit: 64,
      flowLabel: 990495,
      proto: 'ICMPv6',
      icmpType: 128,
      icmpId: 16042,
      icmpSeq: 1
    })
    expect(r.events[5].packet).toMatchObject({
      proto: 'TCP',
      dport: 7003,
      flags: ['SYN'],
      window: 64800
    })
    const err6 = r.events[7].packet!
    expect(err6).toMatchObject({
      src: 'fd93::2',
      proto: 'ICMPv6',
      icmpType: 1,
      icmpCode: 4,
      len: 101
    })
    expect(err6.quoted).toMatchObject({
      src: 'fd93::1',
      proto: 'UDP',
      sport: 41442,
      flowLabel: 240099
    })
  })

  it('dmesg -T: the same packets, wall-clock times with the year and no zone', () => {
    const t = readLog('lab-dmesg-T.txt', human)
    expect(t.wrappers).toEqual(['dmesg-T'])
    expect(t.events.map((e) => e.packet)).toEqual(r.events.map((e) => e.packet))
    expect(t.events[0].time).toEqual({
      wall: { year: 2026, month: 11, day: 22, hour: 2, minute: 51, second: 59, micros: 0 }
    })
  })

  it('every wrapper around these lines yields the same fields and the wrapper’s time', () => {
    const reference = r.events.map((e) => [e.prefix, e.packet])
    const times: Record<string, unknown> = {
      syslog: { wall: { month: 11, day: 21, hour: 10, minute: 0, second: 0, micros: 0 } },
      'syslog-iso': {
        wall: {
          year: 2026,
          month: 11,
          day: 21,
          hour: 10,
          minute: 0,
          second: 0,
          micros: 123456,
          offsetMin: 60
        },
        utcUs: 1795251600123456
      },
      'journal-short-iso': {
        wall: {
          year: 2026,
          month: 11,
          day: 21,
          hour: 10,
          minute: 0,
          second: 0,
          micros: 0,
          offsetMin: 60
        },
        utcUs: 1795251600000000
      },
      'journal-short-precise': {
        wall: { month: 11, day: 21, hour: 10, minute: 0, second: 0, micros: 123456 }
      },
      'journal-json': { utcUs: 1795251600123456 }
    }
    for (const [name, wrap] of Object.entries(WRAPPERS)) {
      const w = readLog(name, lines.map((l) => wrap(dmesgMessage(l))).join('\n'))
      expect(w.problems, name).toEqual([])
      expect(w.wrappers, name).toEqual([name])
      expect(
        w.events.map((e) => [e.prefix, e.packet]),
        name
      ).toEqual(reference)
      if (name in times) expect(w.events[0].time, name).toEqual(times[name])
      if (name !== 'dmesg' && name !== 'dmesg-T') expect(w.events[0].host, name).toBe('labhost')
    }
    const bytes = readLog('bytes.json', lines.map((l) => journalBytes(dmesgMessage(l))).join('\n'))
    expect(bytes.events.map((e) => [e.prefix, e.packet])).toEqual(reference)
  })

  it('syslog with the kernel’s boot stamp keeps both times', () => {
    const w = readLog('kern.log', `Nov 21 10:00:00 labhost kernel: ${lines[0]}`)
    expect(w.events[0].time).toEqual({
      wall: { month: 11, day: 21, hour: 10, minute: 0, second: 0, micros: 0 },
      bootSec: 9349.826775
    })
    expect(w.events[0].prefix).toBe('vle4329b-IPT-SYN:')
  })
})
