import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI, ROOT, verdict } from '../../support/run'

const reason = existsSync(CLI) ? undefined : 'the command line is not built (npm run build:cli)'
if (reason) console.warn(`skipping the firewalld trace tests: ${reason}`)

const etc = resolve(ROOT, 'test/fixtures/firewalld/etc')
const listAll = resolve(ROOT, 'test/fixtures/firewalld/list-all-zones.txt')

describe.skipIf(reason !== undefined)('verdict trace with firewalld', () => {
  it('traces a SYN through a copy of /etc/firewalld: the zone target rejects it (json)', async () => {
    const { code, stdout, stderr } = await verdict([
      'trace',
      etc,
      '--packet',
      'tcp 172.16.0.9:40000 > 10.0.0.1:8080 syn',
      '--iif',
      'eth0',
      '--format',
      'json'
    ])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({
      verdict: 'reject',
      rejectWith: 'icmpx admin-prohibited',
      zone: 'public',
      uncertain: false,
      decidedBy: {
        kind: 'policy',
        setting: 'target',
        table: 'inet firewalld',
        chain: 'filter_IN_public_to_HOST',
        file: join(etc, 'zones/public.xml'),
        line: 2,
        rule: 'target: default'
      },
      fix: ['firewall-cmd --zone=public --add-service=webapp --permanent', 'firewall-cmd --reload']
    })
    expect(r.trace.at(-1)).toMatchObject({ kind: 'policy', matched: true, line: 2 })
  })

  it('passes --iif: the dmz interface picks the DROP zone (text)', async () => {
    const { code, stdout } = await verdict([
      'trace',
      etc,
      '--packet',
      'tcp 172.16.0.9:40000 > 10.0.0.1:22 syn',
      '--iif',
      'dmz0'
    ])
    expect(code).toBe(0)
    expect(stdout).toContain(
      `DROP by policy at ${join(etc, 'zones/dmz.xml')} line 2 (inet firewalld/filter_IN_dmz_to_HOST): <zone target="DROP">`
    )
    expect(stdout).toContain('zone: dmz')
  })

  it('names a rich rule by its text and line', async () => {
    const { stdout } = await verdict([
      'trace',
      etc,
      '--packet',
      'tcp 203.0.113.5:40000 > 10.0.0.1:22 syn',
      '--iif',
      'eth0'
    ])
    expect(stdout).toContain(
      'DROP by rule at ' +
        join(etc, 'zones/public.xml') +
        ' line 9 (inet firewalld/filter_IN_public_pre): rule priority="-10" family="ipv4" source address="203.0.113.0/24" drop'
    )
  })

  it('says when the zone is only assumed, without --iif', async () => {
    const { stdout } = await verdict([
      'trace',
      etc,
      '--packet',
      'tcp 172.16.0.9:40000 > 10.0.0.1:8080 syn',
      '--format',
      'json'
    ])
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({ zone: 'public', verdict: 'reject', uncertain: true })
    expect(r.uncertainWhy).toEqual([
      'the input interface is not known: zone public (the default) is assumed'
    ])
  })

  it('reads firewall-cmd --list-all-zones output as a file', async () => {
    const { code, stdout } = await verdict([
      'trace',
      listAll,
      '--packet',
      'tcp 10.20.1.1:40000 > 10.0.0.1:80 syn',
      '--format',
      'json'
    ])
    expect(code).toBe(0)
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({ verdict: 'drop', zone: 'work', decidedBy: { kind: 'policy' } })
    expect(r.decidedBy).toMatchObject({ file: listAll, line: 19, rule: 'target: DROP' })
  })

  it('reports bad lines with their file and keeps the rest; refuses a mix of systems', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verdict-fwd-'))
    const zone = join(dir, 'public.xml')
    writeFileSync(
      zone,
      '<zone>\n  <port port="99999" protocol="tcp"/>\n  <service name="ssh"/>\n</zone>\n'
    )
    const ok = await verdict(['trace', zone, '--packet', 'tcp 10.0.0.9:40000 > 10.0.0.1:22 syn'])
    expect(ok.code).toBe(0)
    expect(ok.stderr).toContain(`${zone}: line 2:`)
    expect(ok.stdout).toContain('ACCEPT by rule')
    const rules = join(dir, 'rules.v4')
    writeFileSync(rules, '*filter\n:INPUT DROP [0:0]\nCOMMIT\n')
    const mixed = await verdict([
      'trace',
      zone,
      rules,
      '--packet',
      'tcp 10.0.0.9:40000 > 10.0.0.1:22 syn'
    ])
    expect(mixed.code).toBe(2)
    expect(mixed.stderr).toContain(`${rules} is not firewalld configuration`)
  })
})
