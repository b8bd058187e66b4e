/**
 * A netdev ingress chain, with the kernel as oracle: the server drops one client network at its
 * interface's ingress hook (before conntrack and prerouting; its capture still sees the SYNs),
 * and accepts ssh in its inet input chain. `verdict trace` must give the kernel's verdict for
 * both clients' SYNs (and the ingress rule for the dropped one), `verdict analyze` must name that
 * rule, and its fix, run on the server, must let the dropped client connect.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
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

const reason = labSkipReason('netdev ingress')
const NET = { server: '10.92.0.1', good: '10.92.0.5', blocked: '10.92.0.77' }
const PORT = 22
const SPORT = 45220

const RULESET = `table netdev edge {
  chain ingress {
    type filter hook ingress device "s0" priority -500; policy accept;
    ip saddr ${NET.blocked} counter drop
  }
}
table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    tcp dport ${PORT} accept
  }
}
`

describe.skipIf(reason !== undefined)('kernel lab: netdev ingress drop', () => {
  let lab: Lab
  let c: Host
  let s: Host
  let dir: string
  let inc: Incident
  let results: { good: boolean; blocked: boolean }

  const connect = async (from: string, localPort: number): Promise<boolean> => {
    // The client's second address is its source for this connection.
    const args = ['route', 'replace', `${NET.server}/32`, 'dev', 'c0', 'src', from]
    await c.ip(...args)
    const r = await tcpClient(c, {
      host: NET.server,
      port: PORT,
      localPort,
      send: 3,
      timeoutMs: 2500
    })
    return r.connected
  }

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    ;[c, s] = await lab.clientServer('ndi', NET.good, NET.server)
    await c.ip('addr', 'add', `${NET.blocked}/24`, 'dev', 'c0')
    await c.sysctl('net.ipv4.tcp_syn_retries', 1)
    const file = lab.file('edge.nft')
    writeFileSync(file, RULESET)
    await s.must('nft', ['-f', file])
    await tcpServer(s, { host: '0.0.0.0', port: PORT, expect: 3, reply: 4 })
    dir = lab.file('incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result } = await capturing(
      lab,
      [
        [c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
        [s, { file: 'incident/server/s0.pcap', ifaces: ['s0'] }]
      ],
      async () => ({
        good: await connect(NET.good, SPORT),
        blocked: await connect(NET.blocked, SPORT + 1)
      })
    )
    results = result
    await saveSnapshots(
      dir,
      [
        [c, 'client'],
        [s, 'server']
      ],
      { 'ip-addr.txt': ['ip', 'addr'] }
    )
    await saveSnapshots(dir, [[s, 'server']], {
      'nft-ruleset.txt': ['nft', '-a', 'list', 'ruleset']
    })
    inc = await analyze([dir])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('trace gives the kernel’s verdict for both sources', async () => {
    expect(results).toEqual({ good: true, blocked: false })
    const trace = async (src: string) => {
      const ran = await verdict([
        'trace',
        join(dir, 'server', 'nft-ruleset.txt'),
        '--packet',
        `tcp ${src}:40000 > ${NET.server}:${PORT} syn`,
        '--path',
        'input',
        '--iif',
        's0',
        '--format',
        'json'
      ])
      return JSON.parse(ran.stdout) as { verdict: string; decidedBy: { chain: string } }
    }
    expect(await trace(NET.good)).toMatchObject({ verdict: 'accept' })
    expect(await trace(NET.blocked)).toMatchObject({
      verdict: 'drop',
      decidedBy: { chain: 'ingress' }
    })
  })

  it('analyze names the ingress rule, and its fix lets the client connect', async () => {
    const flow = caseFlow(inc, {
      name: 'ingress',
      proto: 'tcp',
      sport: SPORT + 1,
      outcome: 'syn-timeout',
      cause: ''
    })
    expect(flow.src).toBe(NET.blocked)
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'rule', host: 'server', table: 'edge', chain: 'ingress' })
    expect(f.cause.rule).toMatch(
      new RegExp(`^ip saddr ${NET.blocked.replace(/\./g, '\\.')} counter`)
    )
    await s.must('nft', f.fix!.split(/\s+/).slice(1))
    expect(await connect(NET.blocked, SPORT + 2)).toBe(true)
  })
})
