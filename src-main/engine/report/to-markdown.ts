import type { Incident } from '../../shared/incident'
import { mdCode, mdFence, mdText } from './markdown-escape'
import { buildReport, REPORT_LIMITS, type Inline, type Table } from './report-view'
import { toTimelineSvg } from './timeline-svg'

/**
 * Returns the post-incident report as GitHub Markdown: the summary, each
 * finding with its rule, evidence and fix, the timeline (an SVG image in a
 * data URI), the failed conversations, the inputs and the clock alignment.
 */
export function toMarkdown(incident: Incident): string {
  const v = buildReport(incident)
  const out: string[] = ['# Verdict incident report', '', mdText(v.lead), '', '## Summary', '']
  out.push(table(v.byOutcome), '')
  if (v.byCause) out.push(table(v.byCause), '')
  out.push('## Findings', '')
  if (v.findings.length === 0)
    out.push('No findings: no cause was established for any failure.', '')
  for (const f of v.findings) {
    out.push(`### ${mdText(f.id)}: ${mdText(f.title)}`, '', table(f.facts), '')
    if (f.rule !== undefined)
      out.push('Rule as written in the snapshot:', '', mdFence(f.rule, 'text'), '')
    if (f.explanation) out.push(mdText(f.explanation), '')
    if (f.evidence.rows.length > 0) out.push('Evidence:', '', table(f.evidence), '')
    if (f.fix !== undefined) out.push('Fix:', '', mdFence(f.fix, 'sh'), '')
    if (f.missing.length > 0) {
      out.push('What would decide it:', '', ...f.missing.map((m) => `- ${mdText(m)}`), '')
    }
  }
  if (v.whatIf) out.push('## What if', '', table(v.whatIf), '')
  out.push(
    '## Timeline',
    '',
    `![Timeline of the failed conversations](${svgDataUri(incident)})`,
    ''
  )
  out.push('## Failed conversations', '')
  if (v.failed.length === 0) out.push('None.', '')
  for (const g of v.failed) {
    out.push(`### ${mdText(g.outcome)} (${g.total})`, '', table(g.table), '')
    if (g.total > REPORT_LIMITS.flowsPerOutcome)
      out.push(`And ${g.total - REPORT_LIMITS.flowsPerOutcome} more in the JSON output.`, '')
  }
  out.push('## Inputs', '', table(v.inputs), '')
  for (const p of v.problems) {
    out.push(`${mdCode(p.path, false)}:`, '', ...p.items.map((i) => `- ${mdText(i)}`))
    if (p.more > 0) out.push(`- and ${p.more} more`)
    out.push('')
  }
  out.push('## Clock alignment', '')
  out.push(
    v.clock ? table(v.clock) : 'No log times needed aligning: every time shown is capture time.'
  )
  return out.join('\n') + '\n'
}

function table(t: Table): string {
  const head = `| ${t.columns.map(mdText).join(' | ')} |`
  const rule = `| ${t.columns.map((_, i) => (t.numeric?.[i] ? '---:' : '---')).join(' | ')} |`
  const rows = t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`)
  return [head, rule, ...rows].join('\n')
}

function cell(c: Inline): string {
  if (typeof c === 'string') return mdText(c)
  if (Array.isArray(c)) return c.map(cell).join('<br>')
  return mdCode(c.code)
}

/** The SVG as a base64 data URI: an image a Markdown viewer shows without fetching anything. */
function svgDataUri(incident: Incident): string {
  const bytes = new TextEncoder().encode(toTimelineSvg(incident))
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return `data:image/svg+xml;base64,${btoa(binary)}`
}
