import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI, verdict } from '../../support/run'

const reason = existsSync(CLI) ? undefined : 'the command line is not built (npm run build:cli)'
if (reason) console.warn(`skipping the trace command tests: ${reason}`)

const dir = mkdtempSync(join(tmpdir(), 'verdict-trace-'))
const rules = join(dir, 'rules.v4')
writeFileSync(
  rules,
  '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -m set --match-set admins src -j ACCEPT\nCOMMIT\n'
)
const sets = join(dir, 'ipsets')
writeFileSync(sets, 'create admins hash:ip family inet\nadd admins 10.0.0.1\n')

describe.skipIf(reason !== undefined)('verdict trace', () => {
  it('prints the contract JSON: verdict, decidedBy, trace, uncertain', async () => {
    const { code, stdout } = await verdict([
      'trace',
      rules,
      sets,
      '--packet',
      'tcp 10.0.0.1:40000 > 10.0.0.2:22 syn',
      '--format',
      'json'
    ])
    expect(code).toBe(0)
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({
      verdict: 'accept',
      decidedBy: {
        kind: 'rule',
        table: 'filter',
        chain: 'INPUT',
        line: 3,
        rule: '-A INPUT -p tcp --dport 22 -m set --match-set admins src -j ACCEPT'
      },
      uncertain: false
    })
    expect(r.trace).toHaveLength(1)
  })

  it('says the verdict is uncertain, and why, when the ipset snapshot is missing', async () => {
    const { stdout } = await verdict([
      'trace',
      rules,
      '--packet',
      'tcp 10.0.0.1:40000 > 10.0.0.2:22'
    ])
    expect(stdout).toContain('DROP by policy at line 2 (filter/INPUT): :INPUT DROP [0:0]')
    expect(stdout).toContain('UNCERTAIN: line 3: ipset admins is in no snapshot loaded')
  })

  it('rejects a bad packet spec with usage', async () => {
    const { code, stderr } = await verdict([
      'trace',
      rules,
      '--packet',
      'tcp 10.0.0.1 > 10.0.0.2:22'
    ])
    expect(code).toBe(2)
    expect(stderr).toContain('tcp needs ports: SRC:PORT > DST:PORT')
  })

  it('names a file that is not a ruleset', async () => {
    const notes = join(dir, 'notes.txt')
    writeFileSync(notes, 'hello\n')
    const { code, stderr } = await verdict([
      'trace',
      notes,
      '--packet',
      'udp 10.0.0.1:1 > 10.0.0.2:53'
    ])
    expect(code).toBe(1)
    expect(stderr).toContain(`${notes}: not a ruleset Verdict reads`)
  })
})
