/**
 * firewalld in a whole incident: the sample incident's real captures and host facts, with the
 * server's iptables snapshots replaced by a firewalld configuration whose public zone (bound to
 * the server's interface) lacks the port a client tried. The finding must name the zone setting
 * that decides it, as firewalld's files write it, and the fix as firewall-cmd commands.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collectInputs } from '../../../../src-main/cli/collect-inputs'
import { analyse } from '../../../../src-main/engine/analyse'
import type { Incident } from '../../../../src-main/shared/incident'

const sample = resolve(import.meta.dirname, '../../../../resources/sample-incident')
const PUBLIC = `<?xml version="1.0" encoding="utf-8"?>
<zone>
  <short>Public</short>
  <interface name="s0"/>
  <port protocol="tcp" port="80"/>
  <port protocol="tcp" port="81"/>
  <port protocol="tcp" port="8443"/>
  <port protocol="udp" port="5353"/>
</zone>
`

describe('firewalld in a whole incident', () => {
  let dir: string
  let inc: Incident
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verdict-firewalld-'))
    cpSync(sample, dir, { recursive: true })
    rmSync(join(dir, 'server', 'iptables-save.txt'))
    rmSync(join(dir, 'server', 'ip6tables-save.txt'))
    rmSync(join(dir, 'server', 'kern.log'))
    mkdirSync(join(dir, 'server', 'etc-firewalld', 'zones'), { recursive: true })
    writeFileSync(join(dir, 'server', 'etc-firewalld', 'zones', 'public.xml'), PUBLIC)
    writeFileSync(
      join(dir, 'server', 'etc-firewalld', 'firewalld.conf'),
      'DefaultZone=public\nFirewallBackend=nftables\n'
    )
    const { files } = collectInputs([dir])
    inc = await analyse(files)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('reads the configuration as the server host', () => {
    const fw = inc.inputs.filter((i) => i.format.startsWith('firewalld'))
    expect(fw.map((i) => i.host)).toEqual(['server', 'server'])
    expect(fw.flatMap((i) => i.errors)).toEqual([])
  })

  it('names the public zone as what refuses a port it does not open, with firewall-cmd fixes', () => {
    const flow = inc.flows.find((f) => f.proto === 'tcp' && f.dport === 8081)!
    expect(flow.outcome).toBe('syn-timeout')
    const finding = inc.findings.find((f) => f.flows.includes(flow.id))!
    expect(finding.cause).toMatchObject({ system: 'firewalld', host: 'server', kind: 'policy' })
    expect(finding.cause.file).toContain('public.xml')
    expect(finding.explanation).toContain('public')
    expect(finding.fix).toContain('firewall-cmd --zone=public --add-port=8081/tcp --permanent')
    expect(finding.fix).toContain('firewall-cmd --reload')
  })

  it('lets through what the zone opens', () => {
    const ok = inc.flows.find((f) => f.proto === 'tcp' && f.dport === 80)!
    expect(ok.outcome).toBe('established')
    expect(ok.finding).toBeUndefined()
  })
})
