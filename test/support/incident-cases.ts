/**
 * Checks an analysed incident against the failures it was built with: each case's flow, its
 * outcome, the finding's cause kind and host, and the rule exactly as its snapshot writes it.
 */
import { readFileSync } from 'node:fs'
import type { Finding, Flow, Incident } from '../../src-main/shared/incident'

/** One failure of known cause (see test/lab/incident-scenario.ts). */
export interface KnownCase {
  name: string
  proto: 'tcp' | 'udp'
  sport: number
  outcome: string
  cause: string
  host?: string
  ruleHas?: string
}

/** Returns the flow a case opened (by protocol and client port); throws unless exactly one. */
export function caseFlow(inc: Incident, c: KnownCase): Flow {
  const found = inc.flows.filter((f) => f.proto === c.proto && f.sport === c.sport)
  if (found.length !== 1) throw new Error(`${c.name}: ${found.length} flows from port ${c.sport}`)
  return found[0]
}

/** Returns the finding that explains a flow. */
export function findingOf(inc: Incident, flow: Flow): Finding | undefined {
  return inc.findings.find((x) => x.flows.includes(flow.id))
}

/** Returns a line per case whose outcome, cause or host differs from what was built. */
export function wrongCauses(inc: Incident, cases: KnownCase[]): string[] {
  const wrong: string[] = []
  for (const c of cases) {
    const flow = caseFlow(inc, c)
    const finding = findingOf(inc, flow)
    const got = `${flow.outcome} / ${finding?.cause.kind ?? 'no finding'} on ${finding?.cause.host ?? '?'}`
    const want = `${c.outcome} / ${c.cause} on ${c.host ?? '?'}`
    if (got !== want)
      wrong.push(`${c.name}: got ${got}, want ${want} (${finding?.explanation ?? ''})`)
  }
  return wrong
}

/** Returns a line per case whose rule is not its snapshot's line, as written, holding `ruleHas`. */
export function wrongRules(inc: Incident, cases: KnownCase[]): string[] {
  const wrong: string[] = []
  for (const c of cases.filter((x) => x.ruleHas)) {
    const finding = findingOf(inc, caseFlow(inc, c))
    const { file, line, rule } = finding?.cause ?? {}
    if (!file || line === undefined || !rule) {
      wrong.push(`${c.name}: no file, line or rule`)
      continue
    }
    // nft -a annotates each rule with its handle, a comment after the rule as written.
    const text = readFileSync(file, 'utf8')
      .split('\n')
      [line - 1]?.replace(/\s+# handle \d+$/, '')
      .trim()
    if (text !== rule)
      wrong.push(`${c.name}: ${file}:${line} is '${text}', the finding says '${rule}'`)
    if (!rule.includes(c.ruleHas!)) wrong.push(`${c.name}: '${rule}' lacks '${c.ruleHas}'`)
  }
  return wrong
}
