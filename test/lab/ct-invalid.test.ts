/**
 * Conntrack losing a connection, made by the kernel: a connection is established, the server's
 * conntrack table is flushed (as a failover or a reboot of the firewall does), and the client's
 * next segments are no longer ESTABLISHED to it. With tcp_loose off they are INVALID, logged and
 * dropped; with it on they are taken up as NEW, which a chain accepting only SYNs as new drops
 * at its policy (the kernel logs them with the prefix of the log rule before it). `verdict
 * analyze` must name the rule from the log line (and, without the log, from the walk of the
 * unacknowledged segment), and its fix, applied to the server, must let a connection survive
 * the same flush.
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
import { Lab, saveSnapshots, sleep, type Host } from './lab-host'
import { services } from './lab-traffic'
import { withNetnsLogging } from './netns-logging'

const reason = labSkipReason('conntrack invalid')
const PORT = 8100
const SPORT = 44100

/**
 * Connects, exchanges once, waits, then sends again (after the server's table was flushed);
 * prints how many answer bytes came back (2 when the second send got through).
 */
const client = (server: string, localPort: number): string => `
const net = require('node:net')
let got = 0
const s = net.connect({ host: '${server}', port: ${PORT}, localPort: ${localPort} })
s.on('error', () => {})
s.on('connect', () => s.write(Buffer.alloc(100, 0x63)))
s.on('data', (d) => {
  got += d.length
  if (got === 1) setTimeout(() => s.write(Buffer.alloc(100, 0x64)), 800)
})
setTimeout(() => { process.stdout.write(String(got)); s.destroy(); process.exit(0) }, 4000)
`

interface Case {
  name: string
  net: { client: string; server: string }
  loose: 0 | 1
  /** The server's INPUT rules (policy DROP). */
  rules: (tag: string) => string[]
  /** The rule the finding names, and the fix it gives (the sysctl, then any rule). */
  rule: RegExp
  fix: RegExp
}

const CASES: Case[] = [
  {
    name: 'tcp_loose off: INVALID',
    net: { client: '10.90.0.1', server: '10.90.0.2' },
    loose: 0,
    rules: (tag) => [
      `-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "${tag}INVALID: "`,
      '-A INPUT -m conntrack --ctstate INVALID -j DROP',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-A INPUT -p tcp -m tcp --dport ${PORT} -j ACCEPT`
    ],
    rule: /^-A INPUT -m conntrack --ctstate INVALID -j DROP$/,
    fix: /^sysctl -w net\.netfilter\.nf_conntrack_tcp_loose=1$/
  },
  {
    name: 'tcp_loose off, new only for a SYN: INVALID, and NEW once picked up',
    net: { client: '10.90.2.1', server: '10.90.2.2' },
    loose: 0,
    rules: (tag) => [
      `-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "${tag}INVALID: "`,
      '-A INPUT -m conntrack --ctstate INVALID -j DROP',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-A INPUT -p tcp -m tcp --dport ${PORT} --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT`
    ],
    rule: /^-A INPUT -m conntrack --ctstate INVALID -j DROP$/,
    // The sysctl alone lets conntrack take the segment up as NEW, which this chain drops.
    fix: new RegExp(`^iptables -A INPUT -p tcp --dport ${PORT} -j ACCEPT$`)
  },
  {
    name: 'tcp_loose on, new only for a SYN: NEW without SYN',
    net: { client: '10.90.1.1', server: '10.90.1.2' },
    loose: 1,
    rules: (tag) => [
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      `-A INPUT -p tcp -m tcp --dport ${PORT} --tcp-flags FIN,SYN,RST,ACK SYN -m conntrack --ctstate NEW -j ACCEPT`,
      `-A INPUT -j LOG --log-prefix "${tag}DROP: "`
    ],
    rule: /^:INPUT DROP \[\d+:\d+\]$/,
    fix: new RegExp(`^iptables -I INPUT 3 -p tcp --dport ${PORT} -j ACCEPT$`)
  }
]

describe.skipIf(reason !== undefined).each(CASES)(
  'kernel lab: conntrack lost the connection, $name',
  (c) => {
    let lab: Lab
    let cl: Host
    let s: Host
    let dir: string
    let inc: Incident
    let before: string
    const tag = `V${randomBytes(2).toString('hex')} `

    /** The client's conversation, the server's table flushed in the middle of it. */
    const flushed = async (localPort: number): Promise<string> => {
      const run = cl.exec(process.execPath, ['-e', client(c.net.server, localPort)])
      await sleep(400)
      await s.must('conntrack', ['-F'])
      return (await run).stdout
    }

    beforeAll(async () => {
      requireCli()
      lab = new Lab()
      ;[cl, s] = await lab.clientServer('cti', c.net.client, c.net.server)
      await s.sysctl('net.netfilter.nf_conntrack_tcp_loose', c.loose)
      const file = lab.file('rules.v4')
      writeFileSync(
        file,
        `*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${c.rules(tag).join('\n')}\nCOMMIT\n`
      )
      await s.must('iptables-restore', [file])
      await services(s, [
        {
          proto: 'tcp',
          host: '0.0.0.0',
          port: PORT,
          answers: [
            { after: 100, send: 1 },
            { after: 200, send: 1 }
          ],
          close: 'keep'
        }
      ])
      dir = lab.file('incident')
      for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
      await withNetnsLogging(async () => {
        const { result } = await capturing(
          lab,
          [
            [cl, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
            [s, { file: 'incident/server/s0.pcap', ifaces: ['s0'] }]
          ],
          () => flushed(SPORT)
        )
        before = result
      })
      await saveSnapshots(
        dir,
        [
          [cl, 'client'],
          [s, 'server']
        ],
        { 'ip-addr.txt': ['ip', 'addr'], 'iptables-save.txt': ['iptables-save'] }
      )
      await saveSnapshots(dir, [[s, 'server']], {
        'sysctl.txt': ['sysctl', 'net.netfilter.nf_conntrack_tcp_loose']
      })
      const log = (await s.must('dmesg', [])).split('\n').filter((l) => l.includes(tag))
      writeFileSync(join(dir, 'server', 'kern.log'), log.join('\n') + '\n')
      inc = await analyze([dir])
    }, 60_000)

    afterAll(async () => {
      await lab?.close()
    })

    const check = (i: Incident, weight: string): string => {
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
      expect(f.cause.rule).toMatch(c.rule)
      expect(f.evidence[0].weight).toBe(weight)
      // The fix's last line is checked here; its first, for tcp_loose off, is the sysctl.
      expect(f.fix!.split('\n').at(-1)).toMatch(c.fix)
      return f.fix!
    }

    it('names the cause from the kernel log line, and the fix, applied, lets a connection survive the flush', async () => {
      // The kernel's verdict: the second send never got its answer.
      expect(before).toBe('1')
      const fix = check(inc, 'proves')
      for (const line of fix.split('\n')) {
        const [tool, ...args] = line.split(/\s+/)
        await s.must(tool, args)
      }
      expect(await flushed(SPORT + 1)).toBe('2')
    })

    it.runIf(c.loose === 0)(
      'names it from the walk of the unacknowledged segment when there is no log',
      async () => {
        rmSync(join(dir, 'server', 'kern.log'))
        check(await analyze([dir]), 'predicts')
      }
    )
  }
)
