/**
 * A conntrack-invalid drop made by the kernel: a connection is established, the server's
 * conntrack table is flushed (as a failover or a reboot of the firewall does) with tcp_loose off,
 * and the client's next segments are invalid to it, logged and dropped. `verdict analyze` must
 * name the INVALID rule from the log line (and, without the log, from the walk of the
 * unacknowledged segment) and give the sysctl that lets conntrack pick the connection up.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, sleep } from './lab-host'
import { services } from './lab-traffic'
import { withNetnsLogging } from './netns-logging'

const reason = labSkipReason('conntrack invalid')
const NET = { client: '10.90.0.1', server: '10.90.0.2' }
const PORT = 8100
const SPORT = 44100

/** Connects, exchanges once, waits, then sends again (after the server's table was flushed). */
const CLIENT = `
const net = require('node:net')
const s = net.connect({ host: '${NET.server}', port: ${PORT}, localPort: ${SPORT} })
s.on('error', () => {})
s.on('connect', () => s.write(Buffer.alloc(100, 0x63)))
s.once('data', () => setTimeout(() => s.write(Buffer.alloc(100, 0x64)), 800))
setTimeout(() => { s.destroy(); process.exit(0) }, 4000)
`

describe.skipIf(reason !== undefined)('kernel lab: conntrack invalid drops', () => {
  let lab: Lab
  let dir: string
  let inc: Incident
  const tag = `V${randomBytes(2).toString('hex')} `

  beforeAll(async () => {
    requireCli()
    lab = new Lab()
    const c = await lab.host('cti-c')
    const s = await lab.host('cti-s')
    await lab.link(
      { host: c, dev: 'c0', v4: `${NET.client}/24` },
      { host: s, dev: 's0', v4: `${NET.server}/24` }
    )
    await s.sysctl('net.netfilter.nf_conntrack_tcp_loose', 0)
    const rules = [
      `-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "${tag}INVALID: "`,
      '-A INPUT -m conntrack --ctstate INVALID -j DROP',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-A INPUT -p tcp -m tcp --dport ${PORT} -j ACCEPT`
    ]
    const file = lab.file('rules.v4')
    writeFileSync(
      file,
      `*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${rules.join('\n')}\nCOMMIT\n`
    )
    await s.must('iptables-restore', [file])
    await services(s, [
      {
        proto: 'tcp',
        host: '0.0.0.0',
        port: PORT,
        answers: [{ after: 100, send: 1 }],
        close: 'keep'
      }
    ])
    dir = lab.file('incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    await withNetnsLogging(async () => {
      await capturing(
        lab,
        [
          [c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
          [s, { file: 'incident/server/s0.pcap', ifaces: ['s0'] }]
        ],
        async () => {
          const client = c.exec(process.execPath, ['-e', CLIENT])
          await sleep(400)
          await s.must('conntrack', ['-F'])
          await client
        }
      )
    })
    for (const [h, name] of [
      [c, 'client'],
      [s, 'server']
    ] as const) {
      writeFileSync(join(dir, name, 'ip-addr.txt'), await h.must('ip', ['addr']))
      writeFileSync(join(dir, name, 'iptables-save.txt'), await h.must('iptables-save', []))
    }
    writeFileSync(
      join(dir, 'server', 'sysctl.txt'),
      await s.must('sysctl', ['net.netfilter.nf_conntrack_tcp_loose'])
    )
    const log = (await s.must('dmesg', [])).split('\n').filter((l) => l.includes(tag))
    writeFileSync(join(dir, 'server', 'kern.log'), log.join('\n') + '\n')
    inc = await analyze([dir])
  }, 60_000)

  afterAll(async () => {
    await lab?.close()
  })

  const check = (i: Incident, weight: string): void => {
    const flow = caseFlow(i, {
      name: 'flushed',
      proto: 'tcp',
      sport: SPORT,
      outcome: '',
      cause: ''
    })
    expect(flow.outcome).toBe('stalled')
    const f = findingOf(i, flow)!
    expect(f.cause).toMatchObject({ kind: 'ct-invalid', host: 'server', chain: 'INPUT' })
    expect(f.cause.rule).toBe('-A INPUT -m conntrack --ctstate INVALID -j DROP')
    expect(f.evidence[0].weight).toBe(weight)
    expect(f.fix).toBe('sysctl -w net.netfilter.nf_conntrack_tcp_loose=1')
  }

  it('names the INVALID rule from the kernel log line', () => {
    check(inc, 'proves')
  })

  it('names it from the walk of the unacknowledged segment when there is no log', async () => {
    rmSync(join(dir, 'server', 'kern.log'))
    check(await analyze([dir]), 'predicts')
  })
})
