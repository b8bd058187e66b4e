import type { Flow, Incident, Outcome } from '../../shared/incident'
import { countIncident, type IncidentCounts } from '../../shared/summary'
import { FAILED_ORDER, GOOD_OUTCOMES, isFailed } from '../../shared/outcomes'
import { isoToUs } from './time'

export { FAILED_ORDER, GOOD_OUTCOMES, isFailed } from '../../shared/outcomes'

/** Counts shared by every report format. */
export interface IncidentSummary extends IncidentCounts {
  succeeded: number
  /** Failed flows no finding covers. */
  unexplained: number
  inputs: number
  inputsWithErrors: number
  warnings: number
  errors: number
  /** The earliest and latest time of any flow, as written in the Incident. */
  first?: string
  last?: string
}

/** Returns the incident's counts (successes listed first), input problems and time span. */
export function summarise(incident: Incident): IncidentSummary {
  const counts = countIncident(incident, [...GOOD_OUTCOMES, ...FAILED_ORDER])
  return {
    ...counts,
    succeeded: counts.flows - counts.failed,
    unexplained: counts.failed - counts.explained,
    inputs: incident.inputs.length,
    inputsWithErrors: incident.inputs.filter((i) => i.errors.length > 0).length,
    warnings: incident.inputs.reduce((n, i) => n + i.warnings.length, 0),
    errors: incident.inputs.reduce((n, i) => n + i.errors.length, 0),
    ...timeSpan(incident.flows)
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
