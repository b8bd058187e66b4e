/**
 * A server that drops by source held in a set, with the kernel as oracle: an nft named set and
 * an ipset behind `-m set --match-set`. The client is in the set; `verdict analyze` must name the
 * rule and give the command that takes the client out of the set (not an accept that would let
 * the whole set in), and that command, run on the real server, must let the client connect.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasProgram } from '../support/run'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, type Host } from './lab-host'
import { scriptedClient, services } from './lab-traffic'

const reason = labSkipReason('drops by source set')
const NET = { client: '10.92.0.2', other: '10.92.0.3', server: '10.92.0.10' }
const PORT = 2222
const IPSET = hasProgram('ipset')
if (!reason && !IPSET) console.warn('kernel lab (ipset) skipped: the ipset program is missing')

describe.skipIf(reason !== undefined)('kernel lab: drops by a source set', () => {
  let lab: Lab
  let c: Host
  let s: Host

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    ;[c, s] = await lab.clientServer('set', NET.client, NET.server)
    await c.ip('addr', 'add', `${NET.other}/24`, 'dev', 'c0')
    await c.sysctl('net.ipv4.tcp_syn_retries', 1)
    await services(s, [
      { proto: 'tcp', host: '0.0.0.0', port: PORT, answers: [{ after: 1, send: 1 }], close: 'end' }
    ])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  /** One exchange with the server from `localPort` (of `localAddress`, the first by default). */
  const connect = (localPort: number, localAddress?: string) =>
    scriptedClient(c, {
      host: NET.server,
      port: PORT,
      localAddress,
      localPort,
      steps: [{ send: 1, await: 1 }],
      timeoutMs: 3_500
    })

  /** Connects from `sport`, captures both ends, snapshots the server, and analyses. */
  async function incident(name: string, sport: number, snapshot: Record<string, string[]>) {
    const dir = lab.file(name)
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result } = await capturing(
      lab,
      [
        [c, { file: `${name}/client/c0.pcap`, ifaces: ['c0'] }],
        [s, { file: `${name}/server/s0.pcap`, ifaces: ['s0'] }]
      ],
      () => connect(sport)
    )
    writeFileSync(join(dir, 'client', 'ip-addr.txt'), await c.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'ip-addr.txt'), await s.must('ip', ['addr']))
    for (const [file, [cmd, ...args]] of Object.entries(snapshot))
      writeFileSync(join(dir, 'server', file), await s.must(cmd, args))
    const inc = await analyze([dir])
    const flow = caseFlow(inc, { name, proto: 'tcp', sport, outcome: '', cause: '' })
    return { connected: result.connected, flow, finding: findingOf(inc, flow)! }
  }

  /** Runs a fix's commands on the server. */
  async function apply(fix: string): Promise<void> {
    const [cmd, ...args] = fix.split(' ')
    // The nft element list is one argument to nft, as a shell would pass the words.
    await s.must(cmd, cmd === 'nft' ? [args.join(' ')] : args)
  }

  it('an nft named set: the element taken out, and the other sources still dropped', async () => {
    await s.nft(
      [
        'table inet fw {',
        ' set blocklist { type ipv4_addr; flags interval; elements = { 10.92.0.2, 10.92.0.3, 192.0.2.0/24 } }',
        ' chain input {',
        '  type filter hook input priority filter; policy accept;',
        '  ip saddr @blocklist counter drop',
        ' }',
        '}',
        ''
      ].join('\n')
    )
    const r = await incident('nft-set', 44101, { 'ruleset.nft': ['nft', 'list', 'ruleset'] })
    expect(r.connected).toBe(false)
    expect(r.flow.outcome).toBe('syn-timeout')
    expect(r.finding.cause).toMatchObject({ kind: 'rule', host: 'server', chain: 'input' })
    expect(r.finding.fix).toBe(`nft delete element inet fw blocklist { ${NET.client} }`)
    await apply(r.finding.fix!)
    expect((await connect(44102)).connected).toBe(true)
    // The other source in the set is still turned away: the fix opened nothing else.
    expect((await connect(44103, NET.other)).connected).toBe(false)
    await s.must('nft', ['flush', 'ruleset'])
  }, 60_000)

  it.skipIf(!IPSET)(
    'an ipset: a nomatch hole for the source in the network that holds it',
    async () => {
      await s.must('ipset', ['create', 'bad', 'hash:net'])
      await s.must('ipset', ['add', 'bad', '10.92.0.0/28'])
      await s.must('iptables', [
        '-A',
        'INPUT',
        '-m',
        'set',
        '--match-set',
        'bad',
        'src',
        '-j',
        'DROP'
      ])
      const r = await incident('ipset', 44111, {
        'iptables-save.txt': ['iptables-save'],
        'ipset.txt': ['ipset', 'save']
      })
      expect(r.connected).toBe(false)
      expect(r.finding.cause).toMatchObject({ kind: 'rule', host: 'server', chain: 'INPUT' })
      expect(r.finding.fix).toBe(`ipset add bad ${NET.client} nomatch`)
      await apply(r.finding.fix!)
      expect((await connect(44112)).connected).toBe(true)
      // The rest of the /28 is still turned away: the fix opened the one source.
      expect((await connect(44113, NET.other)).connected).toBe(false)
      await s.must('iptables', ['-F'])
      await s.must('ipset', ['destroy', 'bad'])
    },
    60_000
  )
})
