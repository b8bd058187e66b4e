import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Incident } from '../../../src-main/shared/incident'
import { caseFlow, type KnownCase } from '../../support/incident-cases'
import { ROOT } from '../../support/run'

/** The bundled sample incident. */
export const SAMPLE = resolve(ROOT, 'resources/sample-incident')
const cases = JSON.parse(
  readFileSync(resolve(ROOT, 'resources/sample-incident.cases.json'), 'utf8')
) as KnownCase[]

/** The sample's 'NFLOG drop' case: a SYN to the server's port 8081 dropped by a rule. */
export const NFLOG_CASE = cases.find((c) => c.name === 'NFLOG drop')!

/** A change that lets exactly that SYN through: an ACCEPT above the server's DROP. */
export const NFLOG_CHANGE = 'server: iptables -I INPUT 3 -p tcp --dport 8081 -j ACCEPT'

/** Returns the id of the NFLOG case's flow (to port 8081) in an analysis of the sample. */
export function nflogFlow(incident: Incident): string {
  const flow = caseFlow(incident, NFLOG_CASE)
  if (flow.dport !== 8081) throw new Error(`the NFLOG case's flow goes to port ${flow.dport}`)
  return flow.id
}
