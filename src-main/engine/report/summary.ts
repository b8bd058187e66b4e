import type { CauseKind, Flow, Incident, Outcome } from '../../shared/incident'
import { FAILED_ORDER, GOOD_OUTCOMES, isFailed } from '../../shared/outcomes'
import { isoToUs } from './time'

export { FAILED_ORDER, GOOD_OUTCOMES, isFailed } from '../../shared/outcomes'

/** Counts shared by every report format. */
export interface IncidentSummary {
  flows: number
  succeeded: number
  failed: number
  /** Failed flows that a finding explains, and those no finding covers. */
  explained: number
  unexplained: number
  /** Every outcome seen: the good ones first, then failures in FAILED_ORDER. */
  byOutcome: { outcome: Outcome; count: number }[]
  /** Findings per cause kind, with the flows they cover, most flows first. */
  byCause: { kind: CauseKind; findings: number; flows: number }[]
  inputs: number
  inputsWithErrors: number
  warnings: number
  errors: number
  /** The earliest and latest time of any flow, as written in the Incident. */
  first?: string
  last?: string
}

/** Returns the incident's counts: flows by outcome, findings by cause, input problems. */
export function summarise(incident: Incident): IncidentSummary {
  const counts = new Map<Outcome, number>()
  for (const f of incident.flows) counts.set(f.outcome, (counts.get(f.outcome) ?? 0) + 1)
  const order = [...GOOD_OUTCOMES, ...FAILED_ORDER, ...counts.keys()]
  const byOutcome = [...new Set(order)]
    .filter((o) => counts.has(o))
    .map((outcome) => ({ outcome, count: counts.get(outcome)! }))
  const succeeded = incident.flows.filter((f) => !isFailed(f.outcome)).length
  const covered = new Set(incident.findings.flatMap((x) => x.flows))
  const failedFlows = incident.flows.filter((f) => isFailed(f.outcome))
  const explained = failedFlows.filter((f) => covered.has(f.id) || f.finding).length
  const causes = new Map<CauseKind, { findings: number; flows: Set<string> }>()
  for (const finding of incident.findings) {
    const c = causes.get(finding.cause.kind) ?? { findings: 0, flows: new Set<string>() }
    c.findings++
    for (const id of finding.flows) c.flows.add(id)
    causes.set(finding.cause.kind, c)
  }
  const byCause = [...causes]
    .map(([kind, c]) => ({ kind, findings: c.findings, flows: c.flows.size }))
    .sort((x, y) => y.flows - x.flows || x.kind.localeCompare(y.kind))
  const span = timeSpan(incident.flows)
  return {
    flows: incident.flows.length,
    succeeded,
    failed: failedFlows.length,
    explained,
    unexplained: failedFlows.length - explained,
    byOutcome,
    byCause,
    inputs: incident.inputs.length,
    inputsWithErrors: incident.inputs.filter((i) => i.errors.length > 0).length,
    warnings: incident.inputs.reduce((n, i) => n + i.warnings.length, 0),
    errors: incident.inputs.reduce((n, i) => n + i.errors.length, 0),
    ...span
  }
}

/** Returns the failed flows grouped by outcome, groups in FAILED_ORDER, flows by first time. */
export function failedByOutcome(incident: Incident): { outcome: Outcome; flows: Flow[] }[] {
  const groups = new Map<Outcome, { flow: Flow; us: number }[]>()
  for (const flow of incident.flows) {
    if (!isFailed(flow.outcome)) continue
    const entry = { flow, us: isoToUs(flow.first) }
    const list = groups.get(flow.outcome)
    if (list) list.push(entry)
    else groups.set(flow.outcome, [entry])
  }
  const order = [...new Set([...FAILED_ORDER, ...groups.keys()])]
  return order
    .filter((o) => groups.has(o))
    .map((outcome) => ({
      outcome,
      flows: groups
        .get(outcome)!
        .sort((x, y) => x.us - y.us)
        .map((e) => e.flow)
    }))
}

function timeSpan(flows: Flow[]): { first?: string; last?: string } {
  let first: string | undefined
  let last: string | undefined
  let firstUs = Infinity
  let lastUs = -Infinity
  for (const f of flows) {
    const a = isoToUs(f.first)
    const b = isoToUs(f.last)
    if (first === undefined || a < firstUs) [first, firstUs] = [f.first, a]
    if (last === undefined || b > lastUs) [last, lastUs] = [f.last, b]
  }
  return first === undefined ? {} : { first, last }
}
