import type { CauseKind, Finding, Incident, Outcome } from '@shared/incident'
import { isFailed, outcomeRank } from './outcomes'

/** The incident's counts as the summary panel shows them. */
export interface Summary {
  flows: number
  failed: number
  /** Failed flows a finding explains. */
  explained: number
  byOutcome: { outcome: Outcome; count: number }[]
  /** Findings per cause kind and the flows they cover, most flows first. */
  byCause: { kind: CauseKind; findings: number; flows: number }[]
}

/** Returns the counts by outcome and by cause. */
export function summarise(incident: Incident): Summary {
  const counts = new Map<Outcome, number>()
  for (const f of incident.flows) counts.set(f.outcome, (counts.get(f.outcome) ?? 0) + 1)
  const byOutcome = [...counts]
    .map(([outcome, count]) => ({ outcome, count }))
    .sort((a, b) => outcomeRank(a.outcome) - outcomeRank(b.outcome))
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
      .sort((a, b) => b.flows - a.flows || a.kind.localeCompare(b.kind))
  }
}

/** Returns findings most important first: most flows, then highest confidence. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => b.flows.length - a.flows.length || b.confidence - a.confidence
  )
}
