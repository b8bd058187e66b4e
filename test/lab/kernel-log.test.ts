/**
 * Lines the kernel itself wrote: two namespaces joined by a veth pair, iptables LOG and nft `log`
 * rules with prefixes unique to this run (IPv4 and IPv6; TCP SYN, UDP, ICMP echo, and the ICMP
 * port-unreachable a REJECT sends back, logged with the packet it quotes). The kernel log is read
 * with `dmesg` and `dmesg -T`; readLog's fields are checked against what was sent and against
 * tshark's dissection of a capture of the same packets.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LogEvent, LoggedPacket } from '../../src-main/engine/logs/log-event'
import { readLog } from '../../src-main/engine/logs/read-log'
import { run } from '../support/run'
import { dmesgMessage, WRAPPERS } from '../unit/engine/logs/wrap-kernel-line'
import { labSkipReason } from './lab-checks'
import { capturing } from './lab-capture'
import { Lab, sleep, type Host } from './lab-host'
import { HOLDERS_DIR, readSysctl, withNetnsLogging } from './netns-logging'

const reason = labSkipReason('kernel log')
const TAG = `vl${randomBytes(3).toString('hex')}`
const A = { v4: '10.93.0.1', v6: 'fd93::1' }
const B = { v4: '10.93.0.2', v6: 'fd93::2' }
const PREFIX = {
  syn: `${TAG}-IPT-SYN: `,
  udp: `${TAG} IPT UDP `,
  err: `[${TAG} ERR] `,
  ping: `${TAG}-NFT-PING: `,
  ping6: `${TAG}-NFT-PING6: `,
  syn6: `${TAG}-NFT-SYN6: `,
  udp6: `${TAG}-IP6-UDP: `,
  err6: `${TAG}-IP6-ERR: `
}

/** One frame of the capture as tshark dissects it (outer values first, then the quoted packet's). */
interface Frame {
  src: string[]
  dst: string[]
  id: number[]
  ttl: number[]
  len: number[]
  sport: number[]
  dport: number[]
  icmpType?: number
  icmpCode?: number
  flags?: number
  df?: boolean
  hlim?: number
  plen?: number
}

describe.skipIf(reason !== undefined)('kernel lab: netfilter log lines read by readLog', () => {
  let lab: Lab
  let raw: string[] = []
  let human: string[] = []
  let frames: Frame[] = []

  beforeAll(async () => {
    lab = new Lab()
    await withNetnsLogging(async () => {
      const a = await lab.host('a', { ipv6: true })
      const b = await lab.host('b', { ipv6: true })
      await lab.link(
        { host: a, dev: 'a0', v4: `${A.v4}/24`, v6: `${A.v6}/64` },
        { host: b, dev: 'b0', v4: `${B.v4}/24`, v6: `${B.v6}/64` }
      )
      await loadRules(a, b)
      const { files } = await capturing(lab, [[b, { file: 'b0.pcap', ifaces: ['b0'] }]], () =>
        traffic(a)
      )
      frames = await dissect(files[0])
      await sleep(300)
      raw = await kernelLines(['dmesg'])
      human = await kernelLines(['dmesg', '-T'])
    })
    if (process.env.VERDICT_LOG_FIXTURES) {
      writeFileSync(`${process.env.VERDICT_LOG_FIXTURES}/lab-dmesg.txt`, raw.join('\n') + '\n')
      writeFileSync(`${process.env.VERDICT_LOG_FIXTURES}/lab-dmesg-T.txt`, human.join('\n') + '\n')
    }
  })

  afterAll(async () => {
    await lab?.close()
  })

  const packets = (lines: string[]): LogEvent[] => {
    const r = readLog('dmesg.log', lines.join('\n'))
    expect(r.problems).toEqual([])
    expect(r.ignored).toBe(0)
    return r.events
  }
  const byPrefix = (events: LogEvent[], key: keyof typeof PREFIX): LogEvent[] =>
    events.filter((e) => e.prefix === PREFIX[key].trim())

  it('the kernel logged every kind of packet sent, and every line reads', () => {
    const events = packets(raw)
    for (const key of Object.keys(PREFIX) as (keyof typeof PREFIX)[]) {
      expect(byPrefix(events, key).length, key).toBeGreaterThan(0)
    }
    expect(events.every((e) => e.kind === 'packet' && e.time.bootSec! > 0)).toBe(true)
    expect(readLog('dmesg-T.log', human.join('\n')).wrappers).toEqual(['dmesg-T'])
  })

  it('fields agree with what was sent', () => {
    const events = packets(raw)
    const syn = byPrefix(events, 'syn')[0].packet!
    expect(syn).toMatchObject({
      in: 'b0',
      out: '',
      src: A.v4,
      dst: B.v4,
      proto: 'TCP',
      dport: 7001
    })
    expect(syn.flags).toEqual(['SYN'])
    expect(syn.seq).toBeGreaterThanOrEqual(0)
    expect(syn.mac).toMatch(/^([0-9a-f]{2}:){13}[0-9a-f]{2}$/)
    const udp = byPrefix(events, 'udp')[0].packet!
    expect(udp).toMatchObject({ src: A.v4, dst: B.v4, proto: 'UDP', dport: 7002, udpLen: 8 + 5 })
    const err = byPrefix(events, 'err')[0].packet!
    expect(err).toMatchObject({ src: B.v4, dst: A.v4, proto: 'ICMP', icmpType: 3, icmpCode: 3 })
    expect(err.quoted).toMatchObject({
      src: A.v4,
      dst: B.v4,
      proto: 'UDP',
      sport: udp.sport,
      dport: 7002
    })
    const ping = byPrefix(events, 'ping')[0].packet!
    expect(ping).toMatchObject({
      src: A.v4,
      dst: B.v4,
      proto: 'ICMP',
      icmpType: 8,
      icmpCode: 0,
      icmpSeq: 1
    })
    const ping6 = byPrefix(events, 'ping6')[0].packet!
    expect(ping6).toMatchObject({
      src: A.v6,
      dst: B.v6,
      proto: 'ICMPv6',
      icmpType: 128,
      hopLimit: 64
    })
    const syn6 = byPrefix(events, 'syn6')[0].packet!
    expect(syn6).toMatchObject({ src: A.v6, dst: B.v6, proto: 'TCP', dport: 7003, flags: ['SYN'] })
    const err6 = byPrefix(events, 'err6')[0].packet!
    expect(err6).toMatchObject({ src: B.v6, dst: A.v6, proto: 'ICMPv6', icmpType: 1, icmpCode: 4 })
    expect(err6.quoted).toMatchObject({ src: A.v6, dst: B.v6, proto: 'UDP', dport: 7002 })
  })

  it('fields agree with tshark on a capture of the same packets', () => {
    const events = packets(raw)
    let compared = 0
    for (const e of events) {
      const p = e.packet!
      const f = matchFrame(frames, p)
      expect(f, `no captured frame for ${e.text}`).toBeDefined()
      if (!f) continue
      compared++
      if (p.src.includes(':')) {
        expect(p.hopLimit).toBe(f.hlim)
        expect(p.len).toBe((f.plen ?? 0) + 40)
      } else {
        expect([p.ttl, p.len, p.df ?? false]).toEqual([f.ttl[0], f.len[0], f.df])
      }
      if (p.sport !== undefined) expect([p.sport, p.dport]).toEqual([f.sport[0], f.dport[0]])
      if (p.icmpType !== undefined)
        expect([p.icmpType, p.icmpCode]).toEqual([f.icmpType, f.icmpCode])
      if (p.flags) expect(flagBits(p.flags)).toBe(f.flags)
      if (p.quoted) {
        expect([p.quoted.src, p.quoted.dst]).toEqual([f.src[1], f.dst[1]])
        expect([p.quoted.sport, p.quoted.dport]).toEqual([f.sport[0], f.dport[0]])
        if (!p.quoted.src.includes(':')) expect(p.quoted.id).toBe(f.id[1])
      }
    }
    expect(compared).toBe(events.length)
  })

  it('dmesg -T reads the same packets as raw dmesg', () => {
    const a = packets(raw).map((e) => [e.prefix, e.packet])
    const b = packets(human).map((e) => [e.prefix, e.packet])
    expect(b).toEqual(a)
  })

  it('every wrapper around the same kernel lines yields the same fields', () => {
    const reference = packets(raw).map((e) => [e.prefix, e.packet])
    for (const [name, wrap] of Object.entries(WRAPPERS)) {
      const r = readLog(name, raw.map((l) => wrap(dmesgMessage(l))).join('\n'))
      expect(r.problems, name).toEqual([])
      expect(r.wrappers, name).toEqual([name])
      expect(
        r.events.map((e) => [e.prefix, e.packet]),
        name
      ).toEqual(reference)
    }
  })
})

describe.skipIf(reason !== undefined)('withNetnsLogging', () => {
  it('holds the sysctl at 1 while any holder runs, then restores it; dead holders do not count', async () => {
    const before = readSysctl()
    mkdirSync(HOLDERS_DIR, { recursive: true })
    // A holder left by a process that no longer exists (pid 2^22 + 1 is above pid_max's default).
    writeFileSync(`${HOLDERS_DIR}/holder-4194305-1`, '4194305\n')
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const outer = withNetnsLogging(async () => {
      await gate
      return readSysctl()
    })
    const inner = await withNetnsLogging(async () => readSysctl())
    expect(inner).toBe('1')
    expect(readSysctl()).toBe('1')
    release()
    expect(await outer).toBe('1')
    expect(readSysctl()).toBe(before)
  })
})

async function loadRules(a: Host, b: Host): Promise<void> {
  const log = (prefix: string): string[] => ['-j', 'LOG', '--log-prefix', prefix]
  await b.must('iptables', [
    '-A',
    'INPUT',
    '-p',
    'tcp',
    '--dport',
    '7001',
    ...log(PREFIX.syn),
    '--log-tcp-sequence'
  ])
  await b.must('iptables', [
    '-A',
    'INPUT',
    '-p',
    'tcp',
    '--dport',
    '7001',
    '-j',
    'REJECT',
    '--reject-with',
    'tcp-reset'
  ])
  await b.must('iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '7002', ...log(PREFIX.udp)])
  await b.must('iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '7002', '-j', 'REJECT'])
  await a.must('iptables', [
    '-A',
    'INPUT',
    '-p',
    'icmp',
    '--icmp-type',
    'port-unreachable',
    ...log(PREFIX.err)
  ])
  await b.must('ip6tables', ['-A', 'INPUT', '-p', 'udp', '--dport', '7002', ...log(PREFIX.udp6)])
  await b.must('ip6tables', ['-A', 'INPUT', '-p', 'udp', '--dport', '7002', '-j', 'REJECT'])
  const err6 = ['-p', 'ipv6-icmp', '--icmpv6-type', 'port-unreachable']
  await a.must('ip6tables', ['-A', 'INPUT', ...err6, ...log(PREFIX.err6)])
  await b.nft(`table inet ${TAG} {
  chain input {
    type filter hook input priority -10;
    icmp type echo-request log prefix "${PREFIX.ping}"
    icmpv6 type echo-request log prefix "${PREFIX.ping6}"
    meta nfproto ipv6 tcp dport 7003 log prefix "${PREFIX.syn6}"
  }
}
`)
}

async function traffic(a: Host): Promise<void> {
  await a.exec('nc', ['-z', '-w', '1', B.v4, '7001'])
  await a.exec('sh', ['-c', `printf hello | nc -u -w 1 ${B.v4} 7002`])
  await a.must('ping', ['-c', '1', '-W', '2', B.v4])
  await a.must('ping', ['-6', '-c', '1', '-W', '2', B.v6])
  await a.exec('nc', ['-6', '-z', '-w', '1', B.v6, '7003'])
  await a.exec('sh', ['-c', `printf hello | nc -6 -u -w 1 ${B.v6} 7002`])
}

/** The kernel log's lines holding this run's tag. */
async function kernelLines(cmd: string[]): Promise<string[]> {
  const ran = await run(cmd[0], cmd.slice(1))
  if (ran.code !== 0) throw new Error(`${cmd.join(' ')} failed: ${ran.stderr}`)
  return ran.stdout.split('\n').filter((l) => l.includes(TAG))
}

const FIELDS = [
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'ip.id',
  'ip.ttl',
  'ip.len',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'icmp.type',
  'icmp.code',
  'icmpv6.type',
  'icmpv6.code',
  'tcp.flags',
  'ip.flags.df',
  'ipv6.hlim',
  'ipv6.plen'
]

async function dissect(file: string): Promise<Frame[]> {
  const args = [
    '-r',
    file,
    '-T',
    'fields',
    '-E',
    'separator=|',
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=,'
  ]
  for (const f of FIELDS) args.push('-e', f)
  const ran = await run('tshark', args)
  if (ran.code !== 0) throw new Error(`tshark failed: ${ran.stderr}`)
  return ran.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const v = l.split('|').map((x) => (x === '' ? [] : x.split(',')))
      const nums = (i: number): number[] => v[i].map((x) => Number(x))
      const first = (i: number): number | undefined => (v[i].length ? Number(v[i][0]) : undefined)
      return {
        src: v[0].length ? v[0] : v[2],
        dst: v[1].length ? v[1] : v[3],
        id: nums(4),
        ttl: nums(5),
        len: nums(6),
        sport: v[7].length ? nums(7) : nums(9),
        dport: v[8].length ? nums(8) : nums(10),
        icmpType: first(11) ?? first(13),
        icmpCode: first(12) ?? first(14),
        flags: first(15),
        df: v[16].length ? v[16][0] === '1' || v[16][0] === 'True' : undefined,
        hlim: first(17),
        plen: first(18)
      }
    })
}

/** The captured frame a logged packet is: same addresses, and the same IP ID, ports or ICMP type. */
function matchFrame(frames: Frame[], p: LoggedPacket): Frame | undefined {
  return frames.find(
    (f) =>
      f.src[0] === p.src &&
      f.dst[0] === p.dst &&
      (p.id === undefined || p.src.includes(':') || f.id[0] === p.id) &&
      (p.sport === undefined || (f.sport[0] === p.sport && f.dport[0] === p.dport)) &&
      (p.icmpType === undefined || f.icmpType === p.icmpType)
  )
}

const FLAG_BITS: Record<string, number> = {
  FIN: 1,
  SYN: 2,
  RST: 4,
  PSH: 8,
  ACK: 16,
  URG: 32,
  ECE: 64,
  CWR: 128,
  AE: 256
}

function flagBits(flags: string[]): number {
  return flags.reduce((n, f) => n | FLAG_BITS[f], 0)
}
