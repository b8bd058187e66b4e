/**
 * NAT and forwarding incidents from real kernels: a client on a private network reaches a server
 * on another network through a router. Without MASQUERADE the server has no way back to the
 * private address; with forwarding off the router passes nothing. `verdict analyze` must name the
 * router and the missing translation (or the sysctl), and the fix it gives, applied to the real
 * router, must let the connection through.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Flow, Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing, type CaptureOptions } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, type Host } from './lab-host'
import { scriptedClient, services } from './lab-traffic'

const reason = labSkipReason('NAT incidents')
const NET = {
  client: '10.89.1.2',
  routerIn: '10.89.1.1',
  routerOut: '198.51.100.1',
  server: '198.51.100.2'
}
const PORT = 8000

/** The TCP conversation from the client's `sport` in the incident. */
const tcpFlow = (inc: Incident, name: string, sport: number): Flow =>
  caseFlow(inc, { name, proto: 'tcp', sport, outcome: '', cause: '' })

describe.skipIf(reason !== undefined)('kernel lab: NAT and forwarding incidents', () => {
  let lab: Lab
  let c: Host
  let r: Host
  let s: Host

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    c = await lab.host('nat-c')
    r = await lab.host('nat-r', { router: true })
    s = await lab.host('nat-s')
    await lab.link(
      { host: c, dev: 'c0', v4: `${NET.client}/24` },
      { host: r, dev: 'r0', v4: `${NET.routerIn}/24` }
    )
    await lab.link(
      { host: r, dev: 'r1', v4: `${NET.routerOut}/24` },
      { host: s, dev: 's0', v4: `${NET.server}/24` }
    )
    // The client knows its way out; the server, as on the internet, only its own network.
    await c.ip('route', 'add', 'default', 'via', NET.routerIn)
    await c.sysctl('net.ipv4.tcp_syn_retries', 2)
    await c.sysctl('net.ipv4.tcp_syn_linear_timeouts', 0, true)
    await services(s, [
      { proto: 'tcp', host: '0.0.0.0', port: PORT, answers: [{ after: 1, send: 1 }], close: 'end' }
    ])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  /** Connects once from `sport`, capturing at every host, and writes the incident folder. */
  async function incident(
    name: string,
    sport: number,
    to: { host: string; port: number; nflog?: number } = { host: NET.server, port: PORT },
    from: Host = c
  ): Promise<{ dir: string; inc: Incident; connected: boolean }> {
    const dir = lab.file(name)
    for (const h of ['client', 'router', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const captures: Array<[Host, CaptureOptions]> = [
      [c, { file: `${name}/client/c0.pcap`, ifaces: ['c0'] }],
      [r, { file: `${name}/router/r0.pcap`, ifaces: ['r0'] }],
      [r, { file: `${name}/router/r1.pcap`, ifaces: ['r1'] }],
      [s, { file: `${name}/server/s0.pcap`, ifaces: ['s0'] }]
    ]
    if (to.nflog !== undefined)
      captures.push([r, { file: `${name}/router/nflog.pcap`, ifaces: [`nflog:${to.nflog}`] }])
    // The router's own connections to its own addresses go over loopback.
    if (from === r) captures.push([r, { file: `${name}/router/lo.pcap`, ifaces: ['lo'] }])
    const { result } = await capturing(lab, captures, () =>
      scriptedClient(from, {
        host: to.host,
        port: to.port,
        localPort: sport,
        steps: [{ send: 1, await: 1 }],
        timeoutMs: 4_000
      })
    )
    for (const [h, host] of [
      [c, 'client'],
      [r, 'router'],
      [s, 'server']
    ] as const) {
      writeFileSync(join(dir, host, 'ip-addr.txt'), await h.must('ip', ['addr']))
      writeFileSync(join(dir, host, 'ip-route.txt'), await h.must('ip', ['route']))
      writeFileSync(join(dir, host, 'iptables-save.txt'), await h.must('iptables-save', []))
      writeFileSync(join(dir, host, 'sysctl.txt'), await h.must('sysctl', ['net.ipv4.ip_forward']))
      // iptables-nft's tables as nft lists them too, as a modern host's snapshot often holds:
      // the findings must be the same, each table walked once.
      writeFileSync(join(dir, host, 'nft-ruleset.txt'), await h.must('nft', ['list', 'ruleset']))
      writeFileSync(
        join(dir, host, 'nft-ruleset.json'),
        await h.must('nft', ['-j', 'list', 'ruleset'])
      )
    }
    return { dir, inc: await analyze([dir]), connected: result.connected }
  }

  it('a private source forwarded without MASQUERADE: the router, and its fix', async () => {
    const first = await incident('no-masquerade', 43001)
    expect(first.connected).toBe(false)
    const flow = tcpFlow(first.inc, 'no masquerade', 43001)
    expect(flow.outcome).toBe('syn-timeout')
    const finding = findingOf(first.inc, flow)!
    expect(finding.cause).toMatchObject({ kind: 'nat', host: 'router' })
    expect(finding.fix).toBe('iptables -t nat -A POSTROUTING -s 10.89.1.0/24 -o r1 -j MASQUERADE')
    const [tool, ...args] = finding.fix!.split(/\s+/)
    await r.must(tool, args)
    const again = await incident('masqueraded', 43002)
    expect(again.connected).toBe(true)
    await r.must('iptables', ['-t', 'nat', '-F'])
  })

  it('forwarding off on the router: the sysctl, and its fix', async () => {
    await r.sysctl('net.ipv4.ip_forward', 0)
    await s.ip('route', 'add', '10.89.1.0/24', 'via', NET.routerOut)
    const first = await incident('forwarding-off', 43003)
    expect(first.connected).toBe(false)
    const flow = tcpFlow(first.inc, 'forwarding off', 43003)
    const finding = findingOf(first.inc, flow)!
    expect(finding.cause).toMatchObject({ kind: 'nat', host: 'router', system: 'sysctl' })
    expect(finding.fix).toBe('sysctl -w net.ipv4.ip_forward=1')
    const [tool, ...args] = finding.fix!.split(/\s+/)
    await r.must(tool, args)
    const again = await incident('forwarding-on', 43004)
    expect(again.connected).toBe(true)
  })

  it('a port forward whose forward accept names the address before translation', async () => {
    const GROUP = 7
    const rules = lab.file('port-forward.rules')
    writeFileSync(
      rules,
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        `-A PREROUTING -d ${NET.routerIn}/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${NET.server}:${PORT}`,
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        // The mistake: the accept names the address the client calls, which the forward chain,
        // past the DNAT, never sees.
        `-A FORWARD -d ${NET.routerIn}/32 -p tcp -m tcp --dport 8080 -j ACCEPT`,
        `-A FORWARD -j NFLOG --nflog-prefix FWD-DROP --nflog-group ${GROUP}`,
        'COMMIT',
        ''
      ].join('\n')
    )
    await r.must('iptables-restore', [rules])
    const to = { host: NET.routerIn, port: 8080, nflog: GROUP }
    const first = await incident('port-forward', 43005, to)
    expect(first.connected).toBe(false)
    const flow = tcpFlow(first.inc, 'port forward', 43005)
    expect([flow.outcome, flow.dst, flow.dport]).toEqual(['syn-timeout', NET.routerIn, 8080])
    const finding = findingOf(first.inc, flow)!
    expect(finding.cause).toMatchObject({
      kind: 'nat',
      host: 'router',
      table: 'filter',
      chain: 'FORWARD',
      rule: expect.stringMatching(/^:FORWARD DROP/)
    })
    expect(finding.evidence.some((e) => e.kind === 'log' && e.weight === 'proves')).toBe(true)
    // The walk starts from the packet as it arrived: the DNAT rule matches, as it did in the
    // kernel, before the forward chain drops the translated packet.
    const walk = finding.evidence.find((e) => e.kind === 'simulation')!
    expect(walk.packet).toMatch(new RegExp(`^tcp ${NET.client}:43005 > ${NET.routerIn}:8080 S`))
    expect(walk.trace?.find((t) => t.rule?.includes('-j DNAT'))?.matched).toBe(true)
    expect(finding.explanation).toContain(
      `accepts ${NET.routerIn}:8080, the destination before translation`
    )
    expect(finding.fix).toBe(
      `iptables -I FORWARD 3 -p tcp -d ${NET.server} --dport ${PORT} -j ACCEPT`
    )
    const [tool, ...args] = finding.fix!.split(/\s+/)
    await r.must(tool, args)
    const again = await incident('port-forwarded', 43006, to)
    expect(again.connected).toBe(true)
    await r.must('iptables', ['-t', 'nat', '-F'])
    await r.must('iptables', ['-F'])
    await r.must('iptables', ['-P', 'FORWARD', 'ACCEPT'])
  })

  it("the router's own connection to its port forward: nat output, and its fix", async () => {
    const rules = lab.file('local-dnat.rules')
    writeFileSync(
      rules,
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        `-A PREROUTING -d ${NET.routerIn}/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination ${NET.server}:${PORT}`,
        'COMMIT',
        ''
      ].join('\n')
    )
    await r.must('iptables-restore', [rules])
    const to = { host: NET.routerIn, port: 8080 }
    // From outside the port forward works; from the router itself nothing listens on 8080.
    const remote = await incident('local-dnat', 43011, to)
    expect(remote.connected).toBe(true)
    const first = await incident('local-dnat', 43012, to, r)
    expect(first.connected).toBe(false)
    const flow = tcpFlow(first.inc, 'local dnat', 43012)
    expect([flow.outcome, flow.src, flow.dst, flow.dport]).toEqual([
      'refused-rst',
      NET.routerIn,
      NET.routerIn,
      8080
    ])
    const finding = findingOf(first.inc, flow)!
    expect(finding.cause).toMatchObject({
      kind: 'nat',
      host: 'router',
      table: 'nat',
      chain: 'PREROUTING',
      rule: expect.stringMatching(/-j DNAT --to-destination/)
    })
    expect(finding.fix).toBe(
      `iptables -t nat -A OUTPUT -d ${NET.routerIn} -p tcp --dport 8080 -j DNAT --to-destination ${NET.server}:${PORT}`
    )
    const [tool, ...args] = finding.fix!.split(/\s+/)
    await r.must(tool, args)
    const again = await incident('local-dnat-fixed', 43013, to, r)
    expect(again.connected).toBe(true)
    // Translated now, the router's own connection is no longer a failure of its own making.
    expect(tcpFlow(again.inc, 'local dnat fixed', 43013).outcome).toBe('established')
    await r.must('iptables', ['-t', 'nat', '-F'])
  })

  it('a forward chain without a rule for established connections: a fix for both ways', async () => {
    await s.ip('route', 'replace', '10.89.1.0/24', 'via', NET.routerOut)
    await r.must('iptables', ['-P', 'FORWARD', 'DROP'])
    await r.must('iptables', ['-A', 'FORWARD', '-p', 'tcp', '--dport', '80', '-j', 'ACCEPT'])
    const first = await incident('stateless-forward', 43007)
    expect(first.connected).toBe(false)
    const finding = findingOf(first.inc, tcpFlow(first.inc, 'stateless forward', 43007))!
    expect(finding.cause).toMatchObject({ kind: 'policy', host: 'router', chain: 'FORWARD' })
    const commands = finding.fix!.split('\n')
    expect(commands).toEqual([
      `iptables -A FORWARD -p tcp -d ${NET.server} --dport ${PORT} -j ACCEPT`,
      'iptables -I FORWARD 1 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'
    ])
    // The kernel agrees that accepting the SYN alone is not enough, and that both are.
    const connect = (localPort: number) =>
      scriptedClient(c, {
        host: NET.server,
        port: PORT,
        localPort,
        steps: [{ send: 1, await: 1 }],
        timeoutMs: 3_000
      })
    const [tool, ...args] = commands[0].split(/\s+/)
    await r.must(tool, args)
    expect((await connect(43008)).connected).toBe(false)
    const [tool2, ...args2] = commands[1].split(/\s+/)
    await r.must(tool2, args2)
    expect((await connect(43009)).connected).toBe(true)
    await r.must('iptables', ['-F'])
    await r.must('iptables', ['-P', 'FORWARD', 'ACCEPT'])
  })
})
