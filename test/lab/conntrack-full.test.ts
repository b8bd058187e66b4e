/**
 * Conntrack's table full, made by the kernel. nf_conntrack_max is one value for the machine, but
 * each network namespace counts its own entries against it: the test lowers the maximum to 512
 * for a few seconds (restoring it however the test ends), fills the server namespace with 512
 * established connections (assured entries, which the kernel does not evict), and captures one
 * more connection whose SYN the kernel drops with "table full". `verdict analyze` must name
 * conntrack-full from the kernel's own line, and its fix, applied, must let a connection through.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../src-main/shared/incident'
import { caseFlow, findingOf } from '../support/incident-cases'
import { analyze } from './flow-checks'
import { capturing } from './lab-capture'
import { labSkipReason, requireCli } from './lab-checks'
import { Lab, saveSnapshots, sleep, type Host } from './lab-host'
import { scriptedClient, services } from './lab-traffic'
import { withNetnsLogging } from './netns-logging'

const reason = labSkipReason('conntrack table full')
const MAX_SYSCTL = '/proc/sys/net/netfilter/nf_conntrack_max'
const NET = { client: '10.91.0.1', server: '10.91.0.2' }
const FILL_PORT = 9500
const PORT = 80
const LIMIT = 512
const SPORT = 45100

/** Opens COUNT connections one after another (each established before the next) and holds them. */
const FILL = `
const net = require('node:net')
const o = JSON.parse(process.argv[1])
const held = []
let n = 0
const next = () => {
  if (n >= o.count) { process.stdout.write('filled ' + held.length + '\\n'); return }
  n++
  const s = net.connect({ host: o.host, port: o.port })
  s.on('error', () => next())
  s.on('connect', () => { held.push(s); setImmediate(next) })
}
next()
setTimeout(() => process.exit(0), o.holdMs)
`

describe.skipIf(reason !== undefined)('kernel lab: conntrack table full', () => {
  let lab: Lab
  let c: Host
  let s: Host
  let dir: string
  let inc: Incident
  let original: string
  const tag = `V${randomBytes(2).toString('hex')} `
  const restore = (): void => writeFileSync(MAX_SYSCTL, original)

  /**
   * Opens LIMIT connections from the client and holds them for `holdMs`; resolves once the
   * server's table holds the maximum, with the running client's end to await.
   */
  async function fillTable(holdMs: number): Promise<{ done: Promise<unknown> }> {
    const args = { host: NET.server, port: FILL_PORT, count: LIMIT, holdMs }
    const filling = c.exec(process.execPath, ['-e', FILL, JSON.stringify(args)], 30_000)
    for (let i = 0; i < 100; i++) {
      const count = Number(
        (await s.must('sysctl', ['-n', 'net.netfilter.nf_conntrack_count'])).trim()
      )
      if (count >= LIMIT) break
      await sleep(100)
    }
    // Wrapped: an async function returning the promise itself would wait for it.
    return { done: filling }
  }

  beforeAll(async () => {
    requireCli()
    original = readFileSync(MAX_SYSCTL, 'utf8')
    process.once('exit', restore)
    lab = new Lab()
    ;[c, s] = await lab.clientServer('ctf', NET.client, NET.server)
    await c.sysctl('net.ipv4.tcp_syn_retries', 2)
    await c.sysctl('net.ipv4.tcp_syn_linear_timeouts', 0, true)
    // The table's 512 filling connections take ephemeral ports: keep them clear of SPORT and the
    // ports after it, which the test's own connections bind (a collision fails them at once).
    await c.sysctl('net.ipv4.ip_local_port_range', `${SPORT + 100} 60999`)
    const rules = lab.file('rules.v4')
    writeFileSync(
      rules,
      [
        '*raw',
        ':PREROUTING ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        `-A PREROUTING -p tcp -m tcp --dport ${PORT} --tcp-flags FIN,SYN,RST,ACK SYN -j LOG --log-prefix "${tag}SYN-IN: "`,
        'COMMIT',
        '*filter',
        ':INPUT DROP [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        `-A INPUT -p tcp -m multiport --dports ${PORT},${FILL_PORT} -j ACCEPT`,
        'COMMIT',
        ''
      ].join('\n')
    )
    await s.must('iptables-restore', [rules])
    await services(s, [
      { proto: 'tcp', host: '0.0.0.0', port: FILL_PORT, answers: [], close: 'keep' },
      { proto: 'tcp', host: '0.0.0.0', port: PORT, answers: [{ after: 1, send: 1 }], close: 'end' }
    ])
    dir = lab.file('incident')
    for (const h of ['client', 'server']) mkdirSync(join(dir, h), { recursive: true })
    try {
      writeFileSync(MAX_SYSCTL, `${LIMIT}\n`)
      const filling = await fillTable(15_000)
      await withNetnsLogging(() =>
        capturing(
          lab,
          [
            [c, { file: 'incident/client/c0.pcap', ifaces: ['c0'] }],
            [s, { file: 'incident/server/s0.pcap', ifaces: ['s0'] }]
          ],
          () =>
            scriptedClient(c, {
              host: NET.server,
              port: PORT,
              localPort: SPORT,
              steps: [{ send: 1, await: 1 }],
              timeoutMs: 4_000
            })
        )
      )
      await saveSnapshots(
        dir,
        [
          [c, 'client'],
          [s, 'server']
        ],
        { 'ip-addr.txt': ['ip', 'addr'], 'iptables-save.txt': ['iptables-save'] }
      )
      writeFileSync(
        join(dir, 'server', 'sysctl.txt'),
        await s.must('sysctl', [
          'net.netfilter.nf_conntrack_max',
          'net.netfilter.nf_conntrack_count'
        ])
      )
      // The server's kernel lines: its LOG lines and the table-full lines naming its netns.
      const inode = (await s.must('stat', ['-L', '-c', '%i', '/proc/self/ns/net'])).trim()
      const lines = (await s.must('dmesg', [])).split('\n')
      const mine = lines.filter(
        (l) => l.includes(tag) || l.includes(`table full in netns ${inode}`)
      )
      writeFileSync(join(dir, 'server', 'kern.log'), mine.join('\n') + '\n')
      await filling.done
    } finally {
      restore()
    }
    inc = await analyze([dir])
  }, 90_000)

  afterAll(async () => {
    restore()
    process.removeListener('exit', restore)
    await lab?.close()
  })

  it('the kernel logged table full for the server namespace', () => {
    const log = readFileSync(join(dir, 'server', 'kern.log'), 'utf8')
    expect(log).toMatch(/nf_conntrack: (nf_conntrack: )?table full in netns \d+, dropping packet/)
  })

  it('names conntrack-full from the kernel line, with the count and the maximum', () => {
    const flow = caseFlow(inc, {
      name: 'table full',
      proto: 'tcp',
      sport: SPORT,
      outcome: '',
      cause: ''
    })
    expect(flow.outcome).toBe('syn-timeout')
    const f = findingOf(inc, flow)!
    expect(f.cause).toMatchObject({ kind: 'conntrack-full', host: 'server' })
    expect(f.evidence.find((e) => e.kind === 'log')).toMatchObject({ weight: 'proves' })
    expect(f.evidence.find((e) => e.kind === 'conntrack')?.text).toContain(`${LIMIT}`)
    expect(f.fix).toBe(`sysctl -w net.netfilter.nf_conntrack_max=${LIMIT * 2}`)
    expect(inc.alignments?.find((a) => a.file.endsWith('kern.log'))?.method).toBe('learnt')
  })

  it('the fix, applied, lets a connection through while the table stays as full', async () => {
    const fix = findingOf(
      inc,
      caseFlow(inc, { name: '', proto: 'tcp', sport: SPORT, outcome: '', cause: '' })
    )!.fix!
    const value = /=(\d+)$/.exec(fix)![1]
    // The fix is global, so it runs here (and is undone after) with the table refilled first.
    try {
      writeFileSync(MAX_SYSCTL, `${LIMIT}\n`)
      const filling = await fillTable(6_000)
      const before = await scriptedClient(c, {
        host: NET.server,
        port: PORT,
        localPort: SPORT + 1,
        steps: [{ send: 1, await: 1 }],
        timeoutMs: 1_500
      })
      writeFileSync(MAX_SYSCTL, `${value}\n`)
      const after = await scriptedClient(c, {
        host: NET.server,
        port: PORT,
        localPort: SPORT + 2,
        steps: [{ send: 1, await: 1 }],
        timeoutMs: 3_000
      })
      expect(before.connected).toBe(false)
      expect(after.connected).toBe(true)
      await filling.done
    } finally {
      restore()
    }
  })
})
