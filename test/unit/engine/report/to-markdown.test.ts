import { describe, expect, it } from 'vitest'
import { mdCode, mdFence, mdText } from '../../../../src-main/engine/report/markdown-escape'
import { toMarkdown } from '../../../../src-main/engine/report/to-markdown'
import { DROP_RULE, sampleIncident } from './sample-incident'
import { xmlProblems } from './well-formed-xml'

/** Returns the body of every fenced block, by its info string. */
function fences(md: string): { lang: string; body: string }[] {
  const out: { lang: string; body: string }[] = []
  const re = /^(`{3,})(\w*)\n([\s\S]*?)\n\1$/gm
  for (const m of md.matchAll(re)) out.push({ lang: m[2], body: m[3] })
  return out
}

/** Splits a table row on the pipes GitHub treats as cell borders (not `\|`). */
function cells(row: string): string[] {
  return row.split(/(?<!\\)\|/).slice(1, -1)
}

describe('the Markdown report', () => {
  const incident = sampleIncident()
  const md = toMarkdown(incident)

  it("holds each finding's rule and fix exactly, in fenced blocks", () => {
    const blocks = fences(md)
    expect(blocks).toContainEqual({ lang: 'text', body: DROP_RULE })
    for (const f of incident.findings) {
      if (f.fix) expect(blocks).toContainEqual({ lang: 'sh', body: f.fix })
      expect(md).toContain(`### ${f.id}: `)
    }
  })

  it('keeps every table row to its columns although cells hold pipes and backticks', () => {
    const tables = md.split('\n\n').filter((b) => b.startsWith('| '))
    expect(tables.length).toBeGreaterThan(10)
    for (const t of tables) {
      const rows = t.trimEnd().split('\n')
      const width = cells(rows[0]).length
      expect(cells(rows[1]).every((c) => /^ -{3}:? $/.test(c))).toBe(true)
      for (const row of rows) expect({ row, n: cells(row).length }).toEqual({ row, n: width })
    }
  })

  it('shows the evidence with its weight and source', () => {
    expect(md).toContain('| proves | log | kernel logged the SYN dropped')
    expect(md).toContain('<br>at 2011-03-07T03:00:05.000180Z (log clock learnt) |')
    expect(md).toContain('| `incident/server/kern.log:77` |')
    expect(md).toContain('| `client:eth0.pcap#12, server:eth0.pcap#40` |')
    expect(md).toContain('| predicts | simulation |')
    // The simulation shows every rule it met, the deciding one as written.
    expect(md).toContain(
      '<br>`input filter INPUT line 5: -A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT (no match: ct state is new)`<br>'
    )
    expect(md).toContain(
      `<br>${mdCode(`input filter INPUT line 7: ${DROP_RULE} (matched → DROP)`)}`
    )
  })

  it('lists every input with its warnings and errors, markup shown as text', () => {
    for (const i of incident.inputs) expect(md).toContain(`| \`${i.path}\` | ${i.kind} |`)
    expect(md).toContain(
      "- error: incident/server/kern.log: line 77: no timestamp: '&lt;script&gt;alert(1)&lt;/script&gt; \\| \\`x\\`'"
    )
    expect(md).toContain('- warning: line 9, column 14: -m recent is not modelled')
  })

  it('embeds the timeline as a well-formed SVG image', () => {
    const m =
      /!\[Timeline of the failed conversations\]\(data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)\)/.exec(
        md
      )
    expect(m).not.toBeNull()
    const svg = new TextDecoder().decode(Uint8Array.from(atob(m![1]), (c) => c.charCodeAt(0)))
    expect(svg.startsWith('<svg ')).toBe(true)
    expect(xmlProblems(svg)).toEqual([])
  })

  it('gives the clock alignment and the what-if results', () => {
    expect(md).toContain('| `incident/server/kern.log` | learnt | 1299466796.6 | 2 | 0.00002 |')
    expect(md).toContain('| `iptables -I INPUT 7 -p tcp --dport 8080 -j ACCEPT` | F1, F2 |')
  })
})

describe('Markdown escaping', () => {
  it('shows markup and table syntax as written', () => {
    expect(mdText('a|b `c` *d* <e> &f_g')).toBe('a\\|b \\`c\\` \\*d\\* &lt;e&gt; &amp;f\\_g')
    expect(mdText('two\nlines')).toBe('two<br>lines')
  })

  it('makes code spans and fences longer than any backtick run inside', () => {
    expect(mdCode('a|b')).toBe('`a\\|b`')
    expect(mdCode('a|b', false)).toBe('`a|b`')
    expect(mdCode('x `y` z')).toBe('``x `y` z``')
    expect(mdCode('`edge')).toBe('`` `edge ``')
    expect(mdFence('a\n```\nb', 'sh')).toBe('````sh\na\n```\nb\n````')
  })
})
