import type { Finding, Incident, InputInfo } from '../../shared/incident'
import { causeWhere, evidenceSource, percent } from './describe-evidence'
import { describeFlow } from './describe-flow'
import { listFlows } from './report-view'
import { failedByOutcome, summarise } from './summary'

/** Evidence items a finding shows in the summary. */
const EVIDENCE_LINES = 4

/**
 * Returns the terminal summary: the inputs with their problems, the counts,
 * each finding's title, cause, rule, explanation, strongest evidence and fix, then one line per failed
 * conversation grouped by outcome.
 */
export function toText(incident: Incident): string {
  const lines: string[] = []
  for (const i of incident.inputs) {
    lines.push(`${i.path}: ${i.kind} ${i.format}${where(i)}, ${i.records} record(s)`)
    for (const w of i.warnings) lines.push(`  warning: ${w}`)
    for (const e of i.errors) lines.push(`  error: ${e}`)
  }
  const s = summarise(incident)
  lines.push('', `${s.flows} conversation(s): ${s.succeeded} succeeded, ${s.failed} did not`)
  if (s.byOutcome.length > 0)
    lines.push('  ' + s.byOutcome.map((o) => `${o.outcome} ${o.count}`).join(', '))
  if (incident.findings.length > 0) {
    lines.push(
      `${incident.findings.length} finding(s) explain ${s.explained} of ${s.failed} failed: ` +
        s.byCause.map((c) => `${c.kind} ${c.findings}`).join(', ')
    )
    for (const f of incident.findings) lines.push('', ...findingLines(f))
  }
  for (const a of incident.alignments ?? []) lines.push(`clock: ${a.file}: ${a.text}`)
  for (const w of incident.whatIf ?? []) {
    const changes = w.changes.length ? `, changes ${w.changes.length} other(s)` : ''
    // A change that could not be applied says why, rather than "resolves 0".
    const problems = w.problems ?? []
    const applied = problems.length === 0 || w.resolves.length > 0 || w.changes.length > 0
    lines.push(
      applied
        ? `what if ${w.change}: resolves ${w.resolves.length}${changes}`
        : `what if ${w.change}: not tried`
    )
    for (const p of problems) lines.push(`  ${p}`)
  }
  for (const { outcome, flows } of failedByOutcome(incident)) {
    lines.push('', `${outcome} (${flows.length})`)
    for (const f of flows) lines.push('  ' + describeFlow(f) + (f.finding ? ` [${f.finding}]` : ''))
  }
  return lines.join('\n') + '\n'
}

function findingLines(f: Finding): string[] {
  const out = [`${f.id} ${f.title}`]
  out.push(
    `  cause: ${f.cause.kind}${causeWhere(f.cause) ? ' (' + causeWhere(f.cause) + ')' : ''}, confidence ${percent(f.confidence)}, flows ${listFlows(f.flows, ' ')}`
  )
  if (f.cause.rule !== undefined) out.push(`  rule:  ${f.cause.rule}`)
  if (f.explanation) out.push(`  why:   ${f.explanation}`)
  // The strongest evidence first, as the finding orders it; a few lines, the rest counted.
  const shown = f.evidence.slice(0, EVIDENCE_LINES)
  for (const e of shown) {
    const from = evidenceSource(e)
    out.push(`  ${e.weight.padEnd(8)} ${e.text}${from ? ` [${from}]` : ''}`)
  }
  if (f.evidence.length > shown.length)
    out.push(`  … ${f.evidence.length - shown.length} more evidence item(s) in the JSON`)
  if (f.fix !== undefined)
    out.push(...f.fix.split('\n').map((l, i) => (i ? '         ' : '  fix:   ') + l))
  for (const m of f.missing ?? []) out.push(`  missing: ${m}`)
  return out
}

function where(i: InputInfo): string {
  if (i.host) return ` [${i.host}${i.point && i.point !== i.host ? '/' + i.point : ''}]`
  return i.point ? ` [${i.point}]` : ''
}
