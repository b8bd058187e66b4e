/**
 * A client's own stateless input chain, with the kernel as oracle: its INPUT policy drops
 * everything but ssh and nothing accepts established connections, so the answers to its UDP
 * queries arrive on its interface (the capture, taken before netfilter, shows them) and never
 * reach the application. `verdict analyze` must see past the answered exchange to the client's
 * chain, and the fix it gives, applied to the real client, must let the answers through.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, type Host } from './lab-host'
import { services, udpExchange } from './lab-traffic'

const reason = labSkipReason('client input chain')
const NET = { client: '10.91.0.2', server: '10.91.0.10' }
const PORT = 5300
const SPORT = 44530

describe.skipIf(reason !== undefined)('kernel lab: answers dropped by the client itself', () => {
  let lab: Lab
  let c: Host
  let inc: Incident
  let before: { replies: number }

  const exchange = (localPort: number) =>
    udpExchange(c, {
      host: NET.server,
      port: PORT,
      localPort,
      payload: 'query',
      count: 2,
      waitMs: 600
    })

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    const pair = await lab.clientServer('cin', NET.client, NET.server)
    c = pair[0]
    const s = pair[1]
    const rules = lab.file('client.rules')
    writeFileSync(
      rules,
      '*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n' +
        '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n'
    )
    await c.must('iptables-restore', [rules])
    await services(s, [{ proto: 'udp', host: '0.0.0.0', port: PORT }])
    const dir = lab.file('incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result } = await capturing(
      lab,
      [[c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }]],
      () => exchange(SPORT)
    )
    before = result
    writeFileSync(join(dir, 'client', 'ip-addr.txt'), await c.must('ip', ['addr']))
    writeFileSync(join(dir, 'client', 'iptables-save.txt'), await c.must('iptables-save', []))
    writeFileSync(join(dir, 'server', 'ip-addr.txt'), await s.must('ip', ['addr']))
    inc = await analyze([dir])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('the answers are on the wire, the application got none, and Verdict says why', async () => {
    expect(before.replies).toBe(0)
    const flow = caseFlow(inc, {
      name: 'answers dropped',
      proto: 'udp',
      sport: SPORT,
      outcome: '',
      cause: ''
    })
    // What the wire shows at the client's interface: answered.
    expect(flow.outcome).toBe('answered')
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'return-path', host: 'client', chain: 'INPUT' })
    expect(f.cause.rule).toMatch(/^:INPUT DROP/)
    expect(f.evidence[0]).toMatchObject({ kind: 'simulation', verdict: 'drop', ct: 'established' })
    const [tool, ...args] = f.fix!.split(/\s+/)
    await c.must(tool, args)
    expect((await exchange(SPORT + 1)).replies).toBe(2)
  })
})
