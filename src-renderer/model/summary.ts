import type { Finding, Incident } from '@shared/incident'
import { countIncident, type IncidentCounts } from '../../src-main/shared/summary'
import { OUTCOME_ORDER } from './outcomes'

/** The incident's counts as the summary panel shows them. */
export type Summary = IncidentCounts

/** Returns the counts by outcome (failures first) and by cause. */
export function summarise(incident: Incident): Summary {
  return countIncident(incident, OUTCOME_ORDER)
}

/** Returns findings most important first: most flows, then highest confidence. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) => b.flows.length - a.flows.length || b.confidence - a.confidence
  )
}
