/**
 * A router's strict reverse-path filter under asymmetric routing, with the kernel as oracle: the
 * client sends to the server's network through the router's third interface (r2) while the
 * router's route back to the client leaves by r0, so with rp_filter=1 the router drops every SYN
 * before any firewall rule sees it (its ruleset is empty, and the kernel's IPReversePathFilter
 * counter goes up). The router captured r2 and r1 on their own: `verdict analyze` must see the
 * SYN go in on r2 and never out on r1 (and the first datagram of a UDP exchange the same way),
 * name the sysctl that dropped them, and give a fix which, applied to the real router, lets a
 * connection and the datagrams through.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, saveSnapshots, type Host } from './lab-host'
import { services, tcpClient, tcpServer, udpExchange } from './lab-traffic'

const reason = labSkipReason('reverse-path filter')

/** Seconds since boot, as dmesg stamps its lines, less a margin for the clocks' drift. */
const uptime = async (): Promise<number> =>
  Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) - 1
const NET = {
  client: '10.93.1.2',
  r0: '10.93.1.1',
  r1: '10.93.2.1',
  server: '10.93.2.2',
  c1: '10.93.3.2',
  r2: '10.93.3.1'
}
const PORT = 8080
const SPORT = 45200
const UDP_PORT = 5353
const UDP_SPORT = 45353

describe.skipIf(reason !== undefined)('kernel lab: strict reverse-path filter', () => {
  let lab: Lab
  let c: Host
  let r: Host
  let inc: Incident
  let refused: { connected: boolean }
  let udpReplies: number
  let dropsBefore: number
  /** The kernel's martian lines for the client's packets in this run. */
  let martianLines = 0

  const connect = (localPort: number) =>
    tcpClient(c, { host: NET.server, port: PORT, localPort, send: 3, timeoutMs: 2_500 })
  const exchange = async (localPort: number): Promise<number> => {
    const opts = { host: NET.server, port: UDP_PORT, localPort, payload: 'q', count: 3 }
    return (await udpExchange(c, { ...opts, waitMs: 800 })).replies
  }

  /** The kernel's own count of packets its reverse-path filter dropped in the router. */
  const rpDrops = async (): Promise<number> => {
    const out = await r.must('nstat', ['-az', 'TcpExtIPReversePathFilter'])
    return Number(/TcpExtIPReversePathFilter\s+(\d+)/.exec(out)?.[1] ?? NaN)
  }

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    c = await lab.host('rpf-c')
    r = await lab.host('rpf-r', { router: true })
    const s = await lab.host('rpf-s')
    await lab.link(
      { host: c, dev: 'c0', v4: `${NET.client}/24` },
      { host: r, dev: 'r0', v4: `${NET.r0}/24` }
    )
    await lab.link(
      { host: r, dev: 'r1', v4: `${NET.r1}/24` },
      { host: s, dev: 's0', v4: `${NET.server}/24` }
    )
    await lab.link(
      { host: c, dev: 'c1', v4: `${NET.c1}/24` },
      { host: r, dev: 'r2', v4: `${NET.r2}/24` }
    )
    // The client reaches the server's network by its second link, from its first address.
    await c.ip('route', 'add', '10.93.2.0/24', 'via', NET.r2, 'src', NET.client)
    await s.ip('route', 'add', 'default', 'via', NET.r1)
    // The router's ARP checks the asking address's way back too, and would never answer the
    // client on r2 (so no SYN would ever be sent): the client knows its link address already.
    const mac = (await r.must('cat', ['/sys/class/net/r2/address'])).trim()
    await c.ip('neigh', 'replace', NET.r2, 'lladdr', mac, 'dev', 'c1', 'nud', 'permanent')
    await r.sysctl('net.ipv4.conf.all.rp_filter', 1)
    await r.sysctl('net.ipv4.conf.r2.rp_filter', 1)
    // The kernel logs each packet its reverse-path filter drops (a martian source).
    await r.sysctl('net.ipv4.conf.all.log_martians', 1)
    const since = await uptime()
    await c.sysctl('net.ipv4.tcp_syn_retries', 1)
    await tcpServer(s, { host: '0.0.0.0', port: PORT, expect: 3, reply: 4 })
    await services(s, [{ proto: 'udp', host: '0.0.0.0', port: UDP_PORT }])
    const dir = lab.file('incident')
    for (const h of ['client', 'router', 'server']) mkdirSync(join(dir, h), { recursive: true })
    dropsBefore = await rpDrops()
    const { result } = await capturing(
      lab,
      [
        [c, { file: 'incident/client/c1.pcap', ifaces: ['c1'] }],
        [r, { file: 'incident/router/r2.pcap', ifaces: ['r2'] }],
        [r, { file: 'incident/router/r1.pcap', ifaces: ['r1'] }],
        [s, { file: 'incident/server/s0.pcap', ifaces: ['s0'] }]
      ],
      async () => ({ tcp: await connect(SPORT), udp: await exchange(UDP_SPORT) })
    )
    refused = result.tcp
    udpReplies = result.udp
    await saveSnapshots(
      dir,
      [
        [c, 'client'],
        [r, 'router'],
        [s, 'server']
      ],
      { 'ip-addr.txt': ['ip', 'addr'], 'ip-route.txt': ['ip', 'route'] }
    )
    // This run's martian lines for the client's packets (dmesg is shared and kept across runs),
    // each with the link-layer header line the kernel prints after it.
    const dmesg = (await r.must('dmesg', [])).split('\n')
    const lines: string[] = []
    dmesg.forEach((l, i) => {
      const t = Number(/^\[\s*(\d+\.\d+)\]/.exec(l)?.[1])
      if (l.includes(`martian source ${NET.server} from ${NET.client}`) && t >= since)
        lines.push(l, dmesg[i + 1] ?? '')
    })
    martianLines = lines.filter((l) => l.includes('martian')).length
    writeFileSync(join(dir, 'router', 'kern.log'), lines.join('\n') + '\n')
    await saveSnapshots(dir, [[r, 'router']], {
      'sysctl.txt': ['sysctl', '-a', '--pattern', '^net\\.ipv4\\.(conf|ip_forward)'],
      'iptables-save.txt': ['iptables-save']
    })
    inc = await analyze([dir])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('names the router’s reverse-path filter, and its fix lets the connection through', async () => {
    // The kernel's verdict: no connection, and its reverse-path filter counted the drops.
    expect(refused.connected).toBe(false)
    expect(await rpDrops()).toBeGreaterThan(dropsBefore)
    const flow = caseFlow(inc, {
      name: 'rp_filter',
      proto: 'tcp',
      sport: SPORT,
      outcome: 'syn-timeout',
      cause: ''
    })
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'unknown', host: 'router' })
    expect(f.cause.rule).toMatch(/^net\.ipv4\.conf\.(all|r2)\.rp_filter = 1$/)
    expect(f.cause.file).toMatch(/router\/sysctl\.txt$/)
    const inside = f.evidence.find((e) => e.text.includes('never leaving on r1'))
    expect(inside?.text).toMatch(/arriving on r2 \(r2\.pcap\)/)
    expect(f.explanation).toMatch(/route back to 10\.93\.1\.2 leaves by r0, not by r2/)
    // The kernel's own word for it: the SYN logged as a martian source on r2.
    expect(martianLines).toBeGreaterThan(0)
    const martian = f.evidence.find((e) => e.kind === 'log' && e.text.includes('martian'))
    expect(martian).toMatchObject({ weight: 'proves', file: expect.stringMatching(/kern\.log$/) })
    expect(martian?.text).toMatch(/from 10\.93\.1\.2 to 10\.93\.2\.2 arriving on r2/)
    // The fix, run on the router as written, and a new connection works.
    for (const line of f.fix!.split('\n')) {
      const [tool, ...args] = line.split(/\s+/)
      await r.must(tool, args)
    }
    expect((await connect(SPORT + 1)).connected).toBe(true)
  })

  it('sees the first datagram go in and never out, and names the same filter', async () => {
    expect(udpReplies).toBe(0)
    const flow = caseFlow(inc, {
      name: 'rp_filter udp',
      proto: 'udp',
      sport: UDP_SPORT,
      outcome: 'unanswered',
      cause: ''
    })
    expect(flow.outcome).toBe('unanswered')
    const request = flow.keyPackets?.find((k) => k.what === 'request')
    expect(request?.frames?.some((r) => r.startsWith('router:r2.pcap#'))).toBe(true)
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'unknown', host: 'router' })
    expect(f.cause.rule).toMatch(/rp_filter = 1$/)
    const inside = f.evidence.find((e) => e.text.includes('never leaving on r1'))
    expect(inside?.text).toMatch(/the first datagram arriving on r2 \(r2\.pcap\)/)
    // The first test ran the fix on the router: the datagrams are answered now.
    expect(await exchange(UDP_SPORT + 1)).toBeGreaterThan(0)
  })
})
