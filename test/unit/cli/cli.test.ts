import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Incident } from '../../../src-main/shared/incident'
import { CLI, CORPUS, run, verdict } from '../../support/run'

const pcap = (name: string) => resolve(CORPUS, 'pcaps', name)
const reason = existsSync(CLI) ? undefined : 'the command line is not built (npm run build:cli)'
if (reason) console.warn(`skipping the command-line tests: ${reason}`)

describe.skipIf(reason !== undefined)('verdict packets', () => {
  it('prints one line per packet, tcpdump style', async () => {
    const { code, stdout } = await verdict(['packets', pcap('zeek_syn-then-rst.pcap')])
    expect(code).toBe(0)
    expect(stdout.split('\n').filter(Boolean)).toEqual([
      '1 2020-09-11 23:00:59.118652 IP 1.1.1.1.13131 > 1.1.1.2.31313: Flags [S], seq 0, win 8192, length 0',
      '2 2020-09-11 23:00:59.118961 IP 1.1.1.1.13131 > 1.1.1.2.31313: Flags [R], seq 0, win 8192, length 0'
    ])
  })

  it('shows a cooked capture’s interface index and direction, as tcpdump -i any does', async () => {
    // tcpdump: "lo    In  IP 192.0.2.1 > 192.0.2.1: ICMP echo request" (the name is its host's).
    const { stdout } = await verdict(['packets', pcap('zeek_linux_dlt_sll2.pcap')])
    expect(stdout.split('\n')[0]).toMatch(
      /^1 2022-08-15 03:30:49\.872259 ifindex 1 In IP 192\.0\.2\.1 > 192\.0\.2\.1: ICMP echo request/
    )
  })

  it('stops quietly, with status 0, when its reader stops early (| head)', async () => {
    for (const format of ['text', 'jsonl']) {
      const { code, stdout, stderr } = await run('bash', [
        '-c',
        `set -o pipefail; "${process.execPath}" "${CLI}" packets --format ${format} "${pcap('tcpdump_afs.pcap')}" | head -n 1`
      ])
      expect(stderr).toBe('')
      expect(code).toBe(0)
      expect(stdout.split('\n')).toHaveLength(2)
    }
  })

  it('prints nanosecond timestamps at the file precision in jsonl', async () => {
    const { stdout } = await verdict([
      'packets',
      '--format',
      'jsonl',
      pcap('tcpdump_tcp-handshake-nano.pcap')
    ])
    const first = JSON.parse(stdout.split('\n')[0])
    expect(first).toMatchObject({
      n: 1,
      ts: '2014-12-09T17:16:09.924505488Z',
      proto: 'tcp',
      tcpFlags: 'S',
      dir: 'out'
    })
  })

  it('exits non-zero with the file and offset when nothing can be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verdict-cli-'))
    const junk = join(dir, 'junk.pcap')
    writeFileSync(junk, 'GARBAGE!')
    const { code, stderr, stdout } = await verdict(['packets', junk])
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toContain(`${junk}: not a capture: unknown magic 0x47415242 at byte 0`)
  })

  it('rejects a bad format with usage', async () => {
    const { code, stderr } = await verdict(['packets', '--format', 'xml', pcap('zeek_syn.pcap')])
    expect(code).toBe(2)
    expect(stderr).toContain('--format must be text or jsonl')
  })
})

describe.skipIf(reason !== undefined)('verdict analyze', () => {
  it('stops quietly, with status 0, when its reader stops early (| head)', async () => {
    // The corpus's Incident is far more than a pipe holds, so the write fails once head is gone.
    const { code, stdout, stderr } = await run('bash', [
      '-c',
      `set -o pipefail; "${process.execPath}" "${CLI}" analyze "${resolve(CORPUS, 'pcaps')}" | head -n 1`
    ])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toBe('{\n')
  })

  it('reads an incident folder: one subfolder per host, loose files belong to no host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verdict-incident-'))
    mkdirSync(join(dir, 'client'))
    mkdirSync(join(dir, 'server', 'etc'), { recursive: true })
    copyFileSync(pcap('zeek_attr.pcap'), join(dir, 'client', 'eth0.pcap'))
    copyFileSync(pcap('zeek_attr.pcap'), join(dir, 'server', 'any.pcap'))
    writeFileSync(
      join(dir, 'server', 'etc', 'rules.v4'),
      '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT\n-Z bogus\nCOMMIT\n'
    )
    writeFileSync(join(dir, 'notes.txt'), 'what happened at 10:00\n')
    const { code, stdout } = await verdict(['analyze', dir])
    expect(code).toBe(0)
    const incident = JSON.parse(stdout) as Incident
    expect(incident.schema).toBe('verdict.incident/1')
    expect(
      incident.inputs.map((i) => [i.path.slice(dir.length + 1), i.kind, i.format, i.host, i.point])
    ).toEqual([
      ['client/eth0.pcap', 'capture', 'pcap', 'client', 'client'],
      ['notes.txt', 'unknown', 'text', undefined, undefined],
      ['server/any.pcap', 'capture', 'pcap', 'server', 'server'],
      ['server/etc/rules.v4', 'ruleset', 'iptables-save', 'server', undefined]
    ])
    expect(incident.inputs[1].errors[0]).toContain('not a capture, log or ruleset')
    // The ruleset is read: its rules counted, the line it could not read named.
    expect(incident.inputs[3]).toMatchObject({
      records: 2,
      errors: [],
      warnings: ["line 5, column 1: expected -A CHAIN, found '-Z'"]
    })
    const refused = incident.flows.filter((f) => f.outcome === 'refused-rst')
    expect(refused).toHaveLength(2)
    for (const f of refused) expect(f.seenAt).toEqual(['client', 'server'])
  })

  it('names capture points with NAME=PATH and prints a text summary grouped by outcome', async () => {
    const { code, stdout } = await verdict([
      'analyze',
      '--format',
      'text',
      `edge=${pcap('zeek_rotation.pcap')}`
    ])
    expect(code).toBe(0)
    expect(stdout).toContain('[edge], 20 record(s)')
    expect(stdout).toContain('syn-timeout (20)')
  })
})
