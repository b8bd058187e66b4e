import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../../src-main/shared/incident'
import { parseAnalyzeArgs } from '../../../src-main/cli/analyze'
import { CORPUS, ROOT, run } from '../../support/run'

const pcap = (name: string) => resolve(CORPUS, 'pcaps', name)
/** Runs the command line from source, so the test never meets a stale build. */
const verdict = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src-main/cli/verdict.ts'), ...args])

describe('verdict analyze arguments', () => {
  it('takes md and html, repeatable what-ifs and the clock hints', () => {
    expect(
      parseAnalyzeArgs([
        'a.pcap',
        '--format=html',
        '--what-if',
        'iptables -I INPUT 1 -p tcp --dport 8080 -j ACCEPT',
        '--what-if=nft add rule inet filter input tcp dport 9090 accept',
        '--boot-time',
        '2024-05-01T08:00:00.250+02:00',
        '--year',
        '2024',
        '--utc-offset',
        '-05:30',
        'fw=b.log',
        '--out',
        'r.html'
      ])
    ).toEqual({
      paths: ['a.pcap', 'fw=b.log'],
      format: 'html',
      out: 'r.html',
      whatIf: [
        'iptables -I INPUT 1 -p tcp --dport 8080 -j ACCEPT',
        'nft add rule inet filter input tcp dport 9090 accept'
      ],
      clock: { bootTime: '2024-05-01T08:00:00.250+02:00', year: 2024, utcOffsetMin: -330 }
    })
    expect(parseAnalyzeArgs(['x', '--utc-offset', '+0100'])).toMatchObject({
      clock: { utcOffsetMin: 60 }
    })
    expect(parseAnalyzeArgs(['x', '--format', 'md'])).toMatchObject({ format: 'md', whatIf: [] })
  })

  it.each([
    [['x', '--format', 'xml'], "--format must be json, text, md or html, not 'xml'"],
    [['x', '--year', '24'], "--year must be a four-digit year from 1970, not '24'"],
    [
      ['x', '--utc-offset', '5'],
      "--utc-offset must be +HH:MM or -HH:MM (from -12:00 to +14:00), not '5'"
    ],
    [['x', '--utc-offset', '+15:00'], "not '+15:00'"],
    [['x', '--boot-time', '2024-05-01 08:00'], '--boot-time must be an ISO time with its zone'],
    [['x', '--boot-time', '2024-13-45T08:00:00Z'], '--boot-time must be an ISO time with its zone'],
    [['x', '--what-if', ' '], '--what-if needs a change'],
    [['x', '--out'], '--out needs a value'],
    [['x', '--colour'], 'unknown option --colour'],
    [['--format', 'md'], 'give at least one file or folder']
  ])('rejects %j', (args, message) => {
    const r = parseAnalyzeArgs(args)
    expect(typeof r).toBe('string')
    expect(r).toContain(message)
  })
})

describe('verdict analyze reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verdict-report-'))
  const rules = join(dir, 'rules.v4')
  writeFileSync(
    rules,
    '*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-Z bogus\nCOMMIT\n'
  )
  const junk = join(dir, 'junk.txt')
  writeFileSync(junk, '<script>alert(1)</script>\n')
  const inputs = [`edge=${pcap('zeek_rotation.pcap')}`, pcap('zeek_syn-then-rst.pcap'), rules, junk]
  /** The same run as JSON: what every report must agree with. */
  let incident: Incident
  let timeouts: number
  beforeAll(async () => {
    const { code, stdout } = await verdict(['analyze', ...inputs])
    expect(code).toBe(0)
    incident = JSON.parse(stdout) as Incident
    timeouts = incident.flows.filter((f) => f.outcome === 'syn-timeout').length
    expect(timeouts).toBeGreaterThan(5)
  })

  it('writes the Markdown report with --out, nothing on stdout', async () => {
    const out = join(dir, 'report.md')
    const { code, stdout, stderr } = await verdict([
      'analyze',
      '--format',
      'md',
      '--out',
      out,
      ...inputs
    ])
    expect([code, stdout, stderr]).toEqual([0, '', ''])
    const md = readFileSync(out, 'utf8')
    expect(md.startsWith('# Verdict incident report\n')).toBe(true)
    expect(md).toContain(`| syn-timeout | ${timeouts} |`)
    for (const f of incident.findings) expect(md).toContain(`### ${f.id}: `)
    expect(md).toContain(`| \`${rules}\` | ruleset | iptables-save |  |  | 1 | 1 | 0 |`)
    expect(md).toContain("- warning: line 4, column 1: expected -A CHAIN, found '-Z'")
    expect(md).toContain(`| \`${junk}\` | unknown |`)
    expect(md).toMatch(/!\[Timeline of the failed conversations\]\(data:image\/svg\+xml;base64,/)
  })

  it('writes the HTML report: self-contained, hostile input escaped', async () => {
    const out = join(dir, 'report.html')
    const { code } = await verdict(['analyze', `--format=html`, `--out=${out}`, ...inputs])
    expect(code).toBe(0)
    const html = readFileSync(out, 'utf8')
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true)
    expect(html).not.toMatch(/<script|<[^>]*\s(src|href)\s*=/i)
    expect(html).toContain(`<h3>syn-timeout (${timeouts})</h3>`)
    const keyPackets = incident.flows.reduce((n, f) => n + (f.keyPackets?.length ?? 0), 0)
    expect(html.split('<path class="glyph key-packet').length - 1).toBe(keyPackets)
  })

  it('prints the terminal summary with counts', async () => {
    const { code, stdout } = await verdict(['analyze', '--format', 'text', ...inputs])
    expect(code).toBe(0)
    const n = incident.flows.length
    expect(stdout).toContain(`${n} conversation(s): 0 succeeded, ${n} did not`)
    expect(stdout).toContain(`  syn-timeout ${timeouts}, incomplete ${n - timeouts}`)
    for (const f of incident.findings) expect(stdout).toContain(`${f.id} ${f.title}\n`)
    expect(stdout).toContain('[edge], 20 record(s)')
  })

  it('rejects an unknown format with a clear message and status 2', async () => {
    const { code, stdout, stderr } = await verdict(['analyze', '--format', 'pdf', ...inputs])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toContain("verdict analyze: --format must be json, text, md or html, not 'pdf'")
    expect(stderr).toContain('usage: verdict analyze PATH... [--format json|text|md|html]')
  })

  it('says when the report cannot be written, and exits 1', async () => {
    const out = join(dir, 'missing', 'report.html')
    const { code, stderr } = await verdict(['analyze', '--format', 'html', '--out', out, ...inputs])
    expect(code).toBe(1)
    expect(stderr).toContain(`verdict analyze: cannot write ${out}: ENOENT`)
  })
})
