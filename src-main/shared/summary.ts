/**
 * The counts every view of an incident shows (the reports' summary and the app's summary
 * panel): flows by outcome, failed flows a finding explains, findings by cause.
 */
import type { CauseKind, Incident, Outcome } from './incident'
import { isFailed } from './outcomes'

/** Flows by outcome and findings by cause. */
export interface IncidentCounts {
  flows: number
  failed: number
  /** Failed flows a finding explains. */
  explained: number
  /** Every outcome seen, in the given order (outcomes it does not list last). */
  byOutcome: { outcome: Outcome; count: number }[]
  /** Findings per cause kind, with the flows they cover, most flows first. */
  byCause: { kind: CauseKind; findings: number; flows: number }[]
}

/** Returns the incident's counts, outcomes listed in `order`. */
export function countIncident(incident: Incident, order: readonly Outcome[]): IncidentCounts {
  const counts = new Map<Outcome, number>()
  for (const f of incident.flows) counts.set(f.outcome, (counts.get(f.outcome) ?? 0) + 1)
  const byOutcome = [...new Set([...order, ...counts.keys()])]
    .filter((o) => counts.has(o))
    .map((outcome) => ({ outcome, count: counts.get(outcome)! }))
  const covered = new Set(incident.findings.flatMap((x) => x.flows))
  const failedFlows = incident.flows.filter((f) => isFailed(f.outcome))
  const causes = new Map<CauseKind, { findings: number; flows: Set<string> }>()
  for (const finding of incident.findings) {
    const c = causes.get(finding.cause.kind) ?? { findings: 0, flows: new Set<string>() }
    c.findings++
    for (const id of finding.flows) c.flows.add(id)
    causes.set(finding.cause.kind, c)
  }
  return {
    flows: incident.flows.length,
    failed: failedFlows.length,
    explained: failedFlows.filter((f) => covered.has(f.id) || f.finding !== undefined).length,
    byOutcome,
    byCause: [...causes]
      .map(([kind, c]) => ({ kind, findings: c.findings, flows: c.flows.size }))
      .sort((x, y) => y.flows - x.flows || x.kind.localeCompare(y.kind))
  }
}
