import { describe, expect, it } from 'vitest'
import { toHtml } from '../../../../src-main/engine/report/to-html'
import { DROP_RULE, HOSTILE_RAW, sampleIncident } from './sample-incident'
import { xmlProblems } from './well-formed-xml'

/** Decodes the character references an HTML text may hold. */
function decode(html: string): string {
  return html.replace(/&(amp|lt|gt|quot|#39|#\d+|#x[0-9a-f]+);/gi, (_, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }
    if (named[e] !== undefined) return named[e]
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)))
  })
}

/** Returns the decoded text of every element matching an opening tag. */
function texts(html: string, open: string, close: string): string[] {
  const out: string[] = []
  let at = html.indexOf(open)
  while (at >= 0) {
    const end = html.indexOf(close, at)
    out.push(decode(html.slice(at + open.length, end)))
    at = html.indexOf(open, end)
  }
  return out
}

describe('the HTML report', () => {
  const incident = sampleIncident()
  const html = toHtml(incident)

  it('is one self-contained file: no scripts, no external references, a strict CSP', () => {
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/<(link|iframe|object|embed|img)\b/i)
    expect(html).not.toMatch(/<[^>]*\s(src|href|action)\s*=/i)
    expect(html).not.toMatch(/url\(|@import/i)
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`
    )
    // The only URL is the SVG namespace, which nothing fetches.
    expect(html.match(/https?:\/\/[^\s"']+/g)).toEqual(['http://www.w3.org/2000/svg'])
  })

  it('escapes a hostile log line: shown as text, never markup', () => {
    expect(html).toContain('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;|`id`')
    expect(texts(html, '<code>', '</code>')).toContain(HOSTILE_RAW)
  })

  it("holds each finding's rule and fix exactly, the fix in a <pre> to copy", () => {
    expect(texts(html, '<pre class="rule">', '</pre>')).toEqual([DROP_RULE])
    expect(texts(html, '<pre class="fix">', '</pre>')).toEqual(
      incident.findings.filter((f) => f.fix).map((f) => f.fix)
    )
    for (const f of incident.findings)
      expect(texts(html, `<section class="finding" id="finding-${f.id}">\n<h3>`, '</h3>')).toEqual([
        `${f.id}: ${f.title}`
      ])
  })

  it('shows each evidence item with its weight and source', () => {
    const text = decode(html)
    for (const f of incident.findings) {
      for (const e of f.evidence)
        expect(text).toContain(`<td>${e.weight}</td><td>${e.kind}</td><td>${e.text}`)
    }
    expect(html).toContain('<td><code>incident/server/kern.log:77</code></td>')
    expect(html).toContain('<td><code>client:eth0.pcap#12, server:eth0.pcap#40</code></td>')
    expect(html).toContain('<td>predicts</td><td>simulation</td>')
    expect(texts(html, '<code>', '</code>')).toContain(
      `input filter INPUT line 7: ${DROP_RULE} (matched → DROP)`
    )
  })

  it('lists every input with its warnings and errors', () => {
    const text = decode(html)
    for (const i of incident.inputs) {
      expect(html).toContain(`<tr><td><code>${i.path}</code></td><td>${i.kind}</td>`)
      for (const e of i.errors) expect(text).toContain(`<li>error: ${e}</li>`)
      for (const w of i.warnings) expect(text).toContain(`<li>warning: ${w}</li>`)
    }
  })

  it('has print styles and a well-formed inline SVG timeline', () => {
    expect(html).toContain('@media print')
    const svg = html.slice(html.indexOf('<svg '), html.indexOf('</svg>') + 6)
    expect(xmlProblems(svg)).toEqual([])
    expect(html).toContain('<h2 id="clock">Clock alignment</h2>')
  })

  it('writes control characters from the evidence out, not raw', () => {
    const bell = sampleIncident()
    bell.inputs[0].errors.push('eth0.pcap: comment "\u001b[31mred\u0007"')
    const out = toHtml(bell)
    expect(out).toContain('comment &quot;\\x1b[31mred\\x07&quot;')
    // eslint-disable-next-line no-control-regex -- no control character may reach the page
    expect(out).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/)
  })
})
