import type { Incident } from '../../shared/incident'
import { escapeXml as esc } from './escape'
import { buildReport, REPORT_LIMITS, type Inline, type Table } from './report-view'
import { toTimelineSvg } from './timeline-svg'
import { REPORT_CSS } from './report-css'

/**
 * Returns the post-incident report as one self-contained HTML file: no
 * scripts, no external styles, fonts or images (a CSP forbids them too), the
 * timeline as inline SVG, every string from the evidence escaped.
 */
export function toHtml(incident: Incident): string {
  const v = buildReport(incident)
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Verdict incident report</title>',
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    '<h1>Verdict incident report</h1>',
    `<p class="lead">${esc(v.lead)}</p>`,
    '<h2 id="summary">Summary</h2>',
    table(v.byOutcome)
  ]
  if (v.byCause) out.push(table(v.byCause))
  out.push('<h2 id="findings">Findings</h2>')
  if (v.findings.length === 0)
    out.push('<p>No findings: no cause was established for any failure.</p>')
  for (const f of v.findings) {
    out.push(`<section class="finding" id="finding-${esc(f.id)}">`)
    out.push(`<h3>${esc(f.id)}: ${esc(f.title)}</h3>`, table(f.facts, 'facts'))
    if (f.rule !== undefined)
      out.push(
        '<p class="label">Rule as written in the snapshot</p>',
        `<pre class="rule">${esc(f.rule)}</pre>`
      )
    if (f.explanation) out.push(`<p>${esc(f.explanation)}</p>`)
    if (f.evidence.rows.length > 0)
      out.push('<p class="label">Evidence</p>', table(f.evidence, 'evidence'))
    if (f.fix !== undefined)
      out.push('<p class="label">Fix</p>', `<pre class="fix">${esc(f.fix)}</pre>`)
    if (f.missing.length > 0) out.push('<p class="label">What would decide it</p>', list(f.missing))
    out.push('</section>')
  }
  if (v.whatIf) out.push('<h2 id="what-if">What if</h2>', table(v.whatIf))
  out.push(
    '<h2 id="timeline">Timeline</h2>',
    `<figure class="timeline">${toTimelineSvg(incident)}</figure>`
  )
  out.push('<h2 id="failed">Failed conversations</h2>')
  if (v.failed.length === 0) out.push('<p>None.</p>')
  for (const g of v.failed) {
    out.push(`<h3>${esc(g.outcome)} (${g.total})</h3>`, table(g.table, 'flows'))
    if (g.total > REPORT_LIMITS.flowsPerOutcome)
      out.push(`<p>And ${g.total - REPORT_LIMITS.flowsPerOutcome} more in the JSON output.</p>`)
  }
  out.push('<h2 id="inputs">Inputs</h2>', table(v.inputs))
  for (const p of v.problems) {
    const more = p.more > 0 ? [`and ${p.more} more`] : []
    out.push(
      `<p class="label"><code>${esc(p.path)}</code></p>`,
      list([...p.items, ...more], 'problems')
    )
  }
  out.push('<h2 id="clock">Clock alignment</h2>')
  out.push(
    v.clock
      ? table(v.clock)
      : '<p>No log times needed aligning: every time shown is capture time.</p>'
  )
  out.push('</body>', '</html>')
  return out.join('\n') + '\n'
}

function table(t: Table, cls = ''): string {
  const head = t.columns.some((c) => c !== '')
    ? `<thead><tr>${t.columns.map((c, i) => `<th${num(t, i)}>${esc(c)}</th>`).join('')}</tr></thead>`
    : ''
  const rows = t.rows.map(
    (r) => `<tr>${r.map((c, i) => `<td${num(t, i)}>${inline(c)}</td>`).join('')}</tr>`
  )
  return `<table${cls ? ` class="${cls}"` : ''}>${head}<tbody>\n${rows.join('\n')}\n</tbody></table>`
}

function num(t: Table, i: number): string {
  return t.numeric?.[i] ? ' class="num"' : ''
}

function inline(c: Inline): string {
  if (typeof c === 'string') return esc(c)
  if (Array.isArray(c)) return c.map(inline).join('<br>')
  return `<code>${esc(c.code)}</code>`
}

function list(items: string[], cls = ''): string {
  return `<ul${cls ? ` class="${cls}"` : ''}>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>`
}
