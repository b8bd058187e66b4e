import type { Finding, Incident, InputInfo } from '../../shared/incident'
import {
  causeWhere,
  evidenceDetail,
  evidenceSource,
  evidenceTime,
  percent,
  traceStepText
} from './describe-evidence'
import { flowEnds, flowFacts } from './describe-flow'
import { failedByOutcome, summarise } from './summary'

/** Inline content of a table cell or line: plain text, code, or parts on separate lines. */
export type Inline = string | { code: string } | Inline[]

/** A table to render; every cell is inline content. */
export interface Table {
  columns: string[]
  /** Columns aligned right (counts). */
  numeric?: boolean[]
  rows: Inline[][]
}

/** One finding as the reports show it. */
export interface FindingView {
  id: string
  title: string
  facts: Table
  /** The rule or policy line exactly as written in the snapshot. */
  rule?: string
  explanation: string
  evidence: Table
  fix?: string
  missing: string[]
}

/** A group of failed conversations with one outcome. */
export interface FailedGroupView {
  outcome: string
  total: number
  table: Table
}

/** Everything a post-incident report says, apart from the timeline, ready to render. */
export interface ReportView {
  lead: string
  byOutcome: Table
  byCause?: Table
  findings: FindingView[]
  whatIf?: Table
  failed: FailedGroupView[]
  inputs: Table
  /** Each input's warnings and errors, in full (up to a limit per file). */
  problems: { path: string; items: string[]; more: number }[]
  clock?: Table
}

/** Report limits: rows listed per outcome, problems listed per file, trace steps per simulation. */
export const REPORT_LIMITS = {
  flowsPerOutcome: 200,
  problemsPerFile: 100,
  traceSteps: 30,
  flowsPerFinding: 50
}

/** Returns a finding's flow ids for people to read: the first ones, and how many more (the JSON has all). */
export function listFlows(ids: string[], separator: string): string {
  const shown = ids.slice(0, REPORT_LIMITS.flowsPerFinding).join(separator)
  const more = ids.length - REPORT_LIMITS.flowsPerFinding
  return more > 0 ? `${shown}${separator}and ${more} more` : shown
}

/** Returns the content of a post-incident report: summary, findings, failures, inputs, clocks. */
export function buildReport(incident: Incident): ReportView {
  const s = summarise(incident)
  const span = s.first ? ` from ${s.first} to ${s.last}` : ''
  const explained =
    incident.findings.length > 0
      ? ` ${incident.findings.length} finding(s) explain ${s.explained} of the ${s.failed} failure(s).`
      : s.failed > 0
        ? ' No finding explains the failures yet.'
        : ''
  const view: ReportView = {
    lead:
      `${s.flows} conversation(s)${span} (UTC): ${s.succeeded} succeeded, ${s.failed} failed.` +
      `${explained} Read from ${s.inputs} input(s), ${s.errors} error(s), ${s.warnings} warning(s).`,
    byOutcome: {
      columns: ['outcome', 'conversations'],
      numeric: [false, true],
      rows: s.byOutcome.map((o) => [o.outcome, String(o.count)])
    },
    findings: incident.findings.map(findingView),
    failed: failedByOutcome(incident).map(({ outcome, flows }) => ({
      outcome,
      total: flows.length,
      table: {
        columns: ['flow', 'proto', 'conversation', 'first', 'how it failed', 'finding'],
        rows: flows
          .slice(0, REPORT_LIMITS.flowsPerOutcome)
          .map((f) => [
            f.id,
            f.proto,
            { code: flowEnds(f) },
            f.first,
            flowFacts(f).join('; '),
            f.finding ?? findingOf(incident.findings, f.id)
          ])
      }
    })),
    inputs: {
      columns: ['file', 'kind', 'format', 'host', 'point', 'records', 'warnings', 'errors'],
      numeric: [false, false, false, false, false, true, true, true],
      rows: incident.inputs.map(inputRow)
    },
    problems: incident.inputs
      .filter((i) => i.errors.length + i.warnings.length > 0)
      .map((i) => {
        const items = [
          ...i.errors.map((e) => `error: ${e}`),
          ...i.warnings.map((w) => `warning: ${w}`)
        ]
        const keep = Math.max(i.errors.length, REPORT_LIMITS.problemsPerFile)
        return { path: i.path, items: items.slice(0, keep), more: Math.max(0, items.length - keep) }
      })
  }
  if (s.byCause.length > 0) {
    view.byCause = {
      columns: ['cause', 'findings', 'conversations'],
      numeric: [false, true, true],
      rows: s.byCause.map((c) => [c.kind, String(c.findings), String(c.flows)])
    }
  }
  if (incident.whatIf?.length) {
    view.whatIf = {
      columns: ['change', 'resolves', 'also changes', 'problems'],
      rows: incident.whatIf.map((w) => [
        { code: w.change },
        w.resolves.join(', ') || 'none',
        w.changes.map((c) => `${c.flow}: ${c.before} → ${c.after}`),
        w.problems ?? []
      ])
    }
  }
  if (incident.alignments?.length) {
    view.clock = {
      columns: ['log', 'method', 'offset (s)', 'matches', 'spread (s)', 'how'],
      rows: incident.alignments.map((a) => [
        { code: a.file },
        a.method,
        a.offsetSec === undefined ? '' : String(a.offsetSec),
        a.matches === undefined ? '' : String(a.matches),
        a.spreadSec === undefined ? '' : String(a.spreadSec),
        a.text
      ])
    }
  }
  return view
}

function findingView(f: Finding): FindingView {
  const facts: Inline[][] = [
    ['outcome', f.outcome],
    ['conversations', listFlows(f.flows, ', ')],
    ['cause', `${f.cause.kind}${causeWhere(f.cause) ? ': ' + causeWhere(f.cause) : ''}`],
    ['confidence', percent(f.confidence)]
  ]
  if (f.alignment) facts.push(['clock', f.alignment])
  return {
    id: f.id,
    title: f.title,
    facts: { columns: ['', ''], rows: facts },
    ...(f.cause.rule !== undefined ? { rule: f.cause.rule } : {}),
    explanation: f.explanation,
    evidence: {
      columns: ['weight', 'kind', 'evidence', 'source'],
      rows: f.evidence.map((e) => {
        const detail = evidenceDetail(e)
        const time = evidenceTime(e)
        const what: Inline[] = [e.text]
        if (detail !== undefined) what.push({ code: detail })
        if (e.kind === 'simulation') {
          const steps = e.trace.slice(0, REPORT_LIMITS.traceSteps)
          what.push(...steps.map((step) => ({ code: traceStepText(step) })))
          if (e.trace.length > steps.length)
            what.push(`and ${e.trace.length - steps.length} more step(s)`)
        }
        if (time !== undefined) {
          const clock = e.kind === 'log' && e.alignment ? ` (log clock ${e.alignment})` : ''
          what.push(`at ${time}${clock}`)
        }
        const source = evidenceSource(e)
        return [e.weight, e.kind, what, source ? { code: source } : '']
      })
    },
    ...(f.fix !== undefined ? { fix: f.fix } : {}),
    missing: f.missing ?? []
  }
}

function inputRow(i: InputInfo): Inline[] {
  return [
    { code: i.path },
    i.kind,
    i.format,
    i.host ?? '',
    i.point ?? '',
    String(i.records),
    String(i.warnings.length),
    String(i.errors.length)
  ]
}

function findingOf(findings: Finding[], flow: string): string {
  return findings.find((f) => f.flows.includes(flow))?.id ?? ''
}
