/**
 * Limits written for traffic over them, with the kernel as oracle. A server whose hashlimit rule
 * drops a source's new connections above 1/min (burst 2). Five connections at once: the kernel
 * lets the burst through and drops the rest (its counter says how many). `verdict analyze` must
 * name that rule as a rate limit for exactly the connections that failed, and its fix (the limit
 * doubled), run on the real server, must let a burst of four from a fresh source through. And a
 * connlimit rule refusing a source's connections above two: the ones over it are refused, named
 * as a rate limit, and the doubled limit lets four held connections in.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, type Host } from './lab-host'
import { scriptedClient, services } from './lab-traffic'

const reason = labSkipReason('limits over their rate')
const NET = { client: '10.93.0.2', fresh: '10.93.0.3', server: '10.93.0.10' }
const PORT = 7000
const RULE =
  `-A INPUT -p tcp -m tcp --dport ${PORT} --tcp-flags FIN,SYN,RST,ACK SYN ` +
  '-m hashlimit --hashlimit-above 1/min --hashlimit-burst 2 --hashlimit-mode srcip --hashlimit-name vdt -j DROP'

describe.skipIf(reason !== undefined)('kernel lab: a limit written for traffic over it', () => {
  let lab: Lab
  let c: Host
  let s: Host
  let inc: Incident
  let connected: boolean[]

  /** Connections at once from ports `base`.. of `from`; whether each got its answer. */
  const burst = async (base: number, n = 5, from = NET.client): Promise<boolean[]> =>
    (
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          scriptedClient(c, {
            host: NET.server,
            port: PORT,
            localAddress: from,
            localPort: base + i,
            steps: [{ send: 1, await: 1 }],
            timeoutMs: 2_500
          })
        )
      )
    ).map((r) => r.connected)

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    ;[c, s] = await lab.clientServer('lim', NET.client, NET.server)
    await c.ip('addr', 'add', `${NET.fresh}/24`, 'dev', 'c0')
    await c.sysctl('net.ipv4.tcp_syn_retries', 1)
    const rules = lab.file('limit.rules')
    writeFileSync(
      rules,
      `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n${RULE}\nCOMMIT\n`
    )
    await s.must('iptables-restore', [rules])
    await services(s, [
      { proto: 'tcp', host: '0.0.0.0', port: PORT, answers: [{ after: 1, send: 1 }], close: 'end' }
    ])
    const dir = lab.file('incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result } = await capturing(
      lab,
      [[c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }]],
      () => burst(45000)
    )
    connected = result
    writeFileSync(join(dir, 'client', 'ip-addr.txt'), await c.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'ip-addr.txt'), await s.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'iptables-save.txt'), await s.must('iptables-save', ['-c']))
    inc = await analyze([dir])
  }, 90_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('names the rule as a rate limit for the connections the kernel dropped, and only those', async () => {
    // The kernel: the burst got through, the rest were dropped by the rule (its counter).
    const saved = await s.must('iptables-save', ['-c'])
    const dropped = Number(/\[(\d+):\d+\] -A INPUT .*hashlimit/.exec(saved)?.[1])
    expect(connected.filter((x) => x)).toHaveLength(2)
    expect(dropped).toBeGreaterThanOrEqual(3)
    const failed = inc.flows.filter((f) => f.outcome === 'syn-timeout')
    expect(failed.map((f) => f.sport).sort()).toEqual(
      connected.flatMap((ok, i) => (ok ? [] : [45000 + i]))
    )
    for (const f of failed) {
      const finding = inc.findings.find((x) => x.flows.includes(f.id))!
      expect(finding.cause).toMatchObject({ kind: 'rate-limit', chain: 'INPUT', verdict: 'drop' })
      expect(finding.cause.rule).toContain('--hashlimit-above 1/min')
    }
    const fix = inc.findings.find((x) => x.cause.kind === 'rate-limit')!.fix!
    expect(fix).toContain(
      '--hashlimit-above 2/min --hashlimit-burst 4 --hashlimit-mode srcip --hashlimit-name vdtx2'
    )
    // The fix, on the real server: a burst of four from a source with a full bucket gets through
    // (under the old rule, two would have).
    await s.must('iptables', fix.split(/\s+/).slice(1))
    expect(await burst(45100, 4, NET.fresh)).toEqual([true, true, true, true])
  }, 60_000)
})

describe.skipIf(reason !== undefined)('kernel lab: a connection limit', () => {
  const CONN_PORT = 6000
  const CONN_RULE =
    `-A INPUT -p tcp -m tcp --dport ${CONN_PORT} --tcp-flags FIN,SYN,RST,ACK SYN ` +
    '-m connlimit --connlimit-above 2 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with tcp-reset'
  let lab: Lab
  let c: Host
  let s: Host

  /** `n` connections held open at once (each waits for more than the server sends). */
  const held = async (base: number, n: number): Promise<boolean[]> =>
    (
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          scriptedClient(c, {
            host: NET.server,
            port: CONN_PORT,
            localPort: base + i,
            steps: [{ send: 1, await: 100 }],
            timeoutMs: 3_000
          })
        )
      )
    ).map((r) => r.connected)

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    ;[c, s] = await lab.clientServer('conn', NET.client, NET.server)
    const rules = lab.file('connlimit.rules')
    writeFileSync(rules, `*filter\n:INPUT ACCEPT [0:0]\n${CONN_RULE}\nCOMMIT\n`)
    await s.must('iptables-restore', [rules])
    await services(s, [
      {
        proto: 'tcp',
        host: '0.0.0.0',
        port: CONN_PORT,
        answers: [{ after: 1, send: 1 }],
        close: 'keep'
      }
    ])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  it('refuses the connections over the count; Verdict names the limit, and its fix lets four in', async () => {
    const dir = lab.file('incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    const { result: connected } = await capturing(
      lab,
      [[c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }]],
      () => held(46000, 4)
    )
    // The kernel: two held, the others refused by the rule.
    expect(connected.filter((x) => x)).toHaveLength(2)
    writeFileSync(join(dir, 'client', 'ip-addr.txt'), await c.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'ip-addr.txt'), await s.must('ip', ['addr']))
    writeFileSync(join(dir, 'server', 'iptables-save.txt'), await s.must('iptables-save', ['-c']))
    const inc = await analyze([dir])
    const refused = inc.flows.filter((f) => f.outcome === 'refused-rst')
    expect(refused.map((f) => f.sport).sort()).toEqual(
      connected.flatMap((ok, i) => (ok ? [] : [46000 + i]))
    )
    const finding = inc.findings.find((x) => x.flows.includes(refused[0].id))!
    expect(finding.cause).toMatchObject({ kind: 'rate-limit', verdict: 'reject with tcp-reset' })
    expect(finding.fix).toContain('--connlimit-above 4 ')
    await s.must('iptables', finding.fix!.split(/\s+/).slice(1))
    expect(await held(46100, 4)).toEqual([true, true, true, true])
  }, 60_000)
})
