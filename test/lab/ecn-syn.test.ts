/**
 * A middlebox that drops SYNs asking for ECN, with the kernel as oracle: the client sends its
 * SYNs with ECE and CWR set (net.ipv4.tcp_ecn=1, no fallback to plain SYNs), and the router's
 * FORWARD chain logs and drops them by `-m ecn` in a user chain, while plain SYNs pass. The
 * router's snapshots are taken as a modern host gives them: iptables-save and nft list ruleset,
 * of the same iptables-nft tables. `verdict analyze` must walk the SYN with the flags it was
 * captured with, name the DROP rule (proved by the kernel's own log line), and its fix, run on
 * the router, must let an ECN client connect.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, saveSnapshots, type Host } from './lab-host'
import { tcpClient, tcpServer } from './lab-traffic'
import { withNetnsLogging } from './netns-logging'

const reason = labSkipReason('ECN SYN drop')
const NET = { client: '10.94.1.2', r0: '10.94.1.1', r1: '10.94.2.1', server: '10.94.2.2' }
const PORT = 8443
const SPORT = 45500
/** Log prefix unique to this run: the kernel log is shared by every namespace. */
const TAG = `ve${randomBytes(3).toString('hex')}`

describe.skipIf(reason !== undefined)('kernel lab: SYNs asking for ECN dropped on the way', () => {
  let lab: Lab
  let c: Host
  let r: Host
  let inc: Incident
  let first: { connected: boolean }

  const connect = (localPort: number) =>
    tcpClient(c, { host: NET.server, port: PORT, localPort, send: 2, timeoutMs: 2_500 })

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    const [client, router, s] = await lab.routed('ecn', NET)
    c = client
    r = router
    // ECN asked for on every SYN, and no retry without it once the SYNs go unanswered.
    await c.sysctl('net.ipv4.tcp_ecn', 1)
    await c.sysctl('net.ipv4.tcp_ecn_fallback', 0)
    await c.sysctl('net.ipv4.tcp_syn_retries', 1)
    await r.must('iptables', ['-N', 'ECN_GUARD'])
    await r.must('iptables', ['-A', 'FORWARD', '-p', 'tcp', '--syn', '-j', 'ECN_GUARD'])
    const ecnSyn = ['-p', 'tcp', '--syn', '-m', 'ecn', '--ecn-tcp-ece', '--ecn-tcp-cwr']
    await r.must('iptables', ['-A', 'ECN_GUARD', ...ecnSyn, '-j', 'LOG', '--log-prefix', `${TAG} `])
    await r.must('iptables', ['-A', 'ECN_GUARD', ...ecnSyn, '-j', 'DROP'])
    await tcpServer(s, { host: '0.0.0.0', port: PORT, expect: 2, reply: 2 })
    const dir = lab.file('incident')
    for (const h of ['client', 'router', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result } = await withNetnsLogging(() =>
      capturing(
        lab,
        [
          [c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
          [r, { file: 'incident/router/r0.pcap', ifaces: ['r0'] }],
          [r, { file: 'incident/router/r1.pcap', ifaces: ['r1'] }]
        ],
        () => connect(SPORT)
      )
    )
    first = result
    await saveSnapshots(
      dir,
      [
        [c, 'client'],
        [r, 'router'],
        [s, 'server']
      ],
      { 'ip-addr.txt': ['ip', 'addr'], 'ip-route.txt': ['ip', 'route'] }
    )
    await saveSnapshots(dir, [[r, 'router']], {
      'iptables-save.txt': ['iptables-save', '-c'],
      'nft-ruleset.txt': ['nft', 'list', 'ruleset']
    })
    const log = (await r.must('dmesg', [])).split('\n').filter((l) => l.includes(TAG))
    writeFileSync(join(dir, 'router', 'kern.log'), log.join('\n') + '\n')
    inc = await analyze([dir])
  }, 90_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('walks the SYN with its ECN flags, names the rule the kernel logged, and its fix works', async () => {
    expect(first.connected).toBe(false)
    const flow = caseFlow(inc, {
      name: 'ECN SYN',
      proto: 'tcp',
      sport: SPORT,
      outcome: 'syn-timeout',
      cause: ''
    })
    expect(flow.keyPackets?.find((k) => k.what === 'syn')?.tcpFlags).toBe('SEW')
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'ECN_GUARD' })
    expect(f.cause.rule).toMatch(/-m ecn --ecn-tcp-ece --ecn-tcp-cwr -j DROP$/)
    expect(f.cause.file).toMatch(/router\/iptables-save\.txt$/)
    expect(f.evidence.some((e) => e.kind === 'log' && e.weight === 'proves')).toBe(true)
    const walk = f.evidence.find((e) => e.kind === 'simulation')!
    expect(walk.packet).toMatch(/ SEW( |$)/)
    for (const line of f.fix!.split('\n')) {
      const [tool, ...args] = line.split(/\s+/)
      await r.must(tool, args)
    }
    expect((await connect(SPORT + 1)).connected).toBe(true)
  })
})
