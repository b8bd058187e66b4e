/**
 * Packets queued to userspace (NFQUEUE) with no program reading the queue, with the kernel as
 * oracle: the router queues port 8080 to queue 3 (the kernel then drops every packet) and port
 * 8081 to queue 4 with --queue-bypass (the kernel lets them through as if accepted, so the DROP
 * rule after it is never reached). `verdict trace` must give the kernel's fates, marked
 * uncertain (a program would decide them); `verdict analyze` must name the queue rule for the
 * timed-out connection, not the policy or a later rule, and its fix, run on the router, must
 * let the connection through.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { verdict } from '../support/run'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, saveSnapshots, type Host } from './lab-host'
import { tcpClient, tcpServer } from './lab-traffic'

const reason = labSkipReason('NFQUEUE')
const NET = { client: '10.95.1.2', r0: '10.95.1.1', r1: '10.95.2.1', server: '10.95.2.2' }
const PORTS = { queued: 8080, bypassed: 8081 }
const SPORT = { queued: 45600, bypassed: 45601 }

describe.skipIf(reason !== undefined)('kernel lab: NFQUEUE with no program on the queue', () => {
  let lab: Lab
  let c: Host
  let r: Host
  let inc: Incident
  let dir: string
  let result: { queued: { connected: boolean }; bypassed: { connected: boolean } }

  const connect = (port: number, localPort: number) =>
    tcpClient(c, { host: NET.server, port, localPort, send: 2, timeoutMs: 2_500 })

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    const [client, router, s] = await lab.routed('nfq', NET)
    c = client
    r = router
    await c.sysctl('net.ipv4.tcp_syn_retries', 1)
    const ipt = (...args: string[]) => r.must('iptables', args)
    await ipt('-P', 'FORWARD', 'DROP')
    await ipt(
      '-A',
      'FORWARD',
      '-m',
      'conntrack',
      '--ctstate',
      'RELATED,ESTABLISHED',
      '-j',
      'ACCEPT'
    )
    const tcp = (port: number) => ['-p', 'tcp', '--dport', String(port)]
    await ipt('-A', 'FORWARD', ...tcp(PORTS.queued), '-j', 'NFQUEUE', '--queue-num', '3')
    await ipt(
      '-A',
      'FORWARD',
      ...tcp(PORTS.bypassed),
      '-j',
      'NFQUEUE',
      '--queue-num',
      '4',
      '--queue-bypass'
    )
    await ipt('-A', 'FORWARD', ...tcp(PORTS.bypassed), '-j', 'DROP')
    for (const port of Object.values(PORTS))
      await tcpServer(s, { host: '0.0.0.0', port, expect: 2, reply: 2 })
    dir = lab.file('incident')
    for (const h of ['client', 'router', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const captured = await capturing(
      lab,
      [
        [c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
        [r, { file: 'incident/router/r0.pcap', ifaces: ['r0'] }],
        [r, { file: 'incident/router/r1.pcap', ifaces: ['r1'] }]
      ],
      async () => ({
        queued: await connect(PORTS.queued, SPORT.queued),
        bypassed: await connect(PORTS.bypassed, SPORT.bypassed)
      })
    )
    result = captured.result
    await saveSnapshots(
      dir,
      [
        [c, 'client'],
        [r, 'router'],
        [s, 'server']
      ],
      { 'ip-addr.txt': ['ip', 'addr'], 'ip-route.txt': ['ip', 'route'] }
    )
    await saveSnapshots(dir, [[r, 'router']], { 'iptables-save.txt': ['iptables-save', '-c'] })
    inc = await analyze([dir])
  }, 90_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('traces each queue rule to the fate the kernel gave, marked uncertain', async () => {
    // The kernel: queue 3 (no bypass) dropped the SYN, queue 4 (bypass) let it through.
    expect(result.queued.connected).toBe(false)
    expect(result.bypassed.connected).toBe(true)
    const trace = async (port: number) => {
      const out = await verdict([
        'trace',
        join(dir, 'router', 'iptables-save.txt'),
        '--packet',
        `tcp ${NET.client}:40000 > ${NET.server}:${port} S`,
        '--path',
        'forward',
        '--iif',
        'r0',
        '--oif',
        'r1',
        '--format',
        'json'
      ])
      return JSON.parse(out.stdout)
    }
    const queued = await trace(PORTS.queued)
    expect(queued).toMatchObject({ verdict: 'drop', uncertain: true })
    expect(queued.decidedBy.rule).toMatch(/-j NFQUEUE --queue-num 3$/)
    const bypassed = await trace(PORTS.bypassed)
    expect(bypassed).toMatchObject({ verdict: 'accept', uncertain: true })
    expect(bypassed.decidedBy.rule).toMatch(/--queue-num 4 --queue-bypass$/)
  })

  it('names the queue rule for the timed-out connection, and its fix lets it through', async () => {
    const flow = caseFlow(inc, {
      name: 'queued',
      proto: 'tcp',
      sport: SPORT.queued,
      outcome: 'syn-timeout',
      cause: ''
    })
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'router', chain: 'FORWARD' })
    expect(f.cause.rule).toMatch(/-j NFQUEUE --queue-num 3$/)
    expect(f.explanation).toMatch(/no program read the queue/)
    expect(f.fix).toBe(
      `iptables -R FORWARD 2 -p tcp -m tcp --dport ${PORTS.queued} -j NFQUEUE --queue-num 3 --queue-bypass`
    )
    const [tool, ...args] = f.fix!.split(/\s+/)
    await r.must(tool, args)
    expect((await connect(PORTS.queued, SPORT.queued + 10)).connected).toBe(true)
  })
})
