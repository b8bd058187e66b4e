import type { Finding, Flow, Incident } from '@shared/incident'

/** What the flows table is narrowed to; empty strings mean "any". */
export interface FlowFilter {
  outcome: string
  cause: string
  host: string
  port: string
  text: string
}

/** The filter that keeps everything. */
export const NO_FILTER: FlowFilter = { outcome: '', cause: '', host: '', port: '', text: '' }

/** Columns the flows table sorts by. */
export type FlowSortKey =
  'first' | 'proto' | 'src' | 'dst' | 'dport' | 'outcome' | 'packets' | 'cause'

/** Returns, for each flow id, the finding that explains it. */
export function findingByFlow(incident: Incident): Map<string, Finding> {
  const out = new Map<string, Finding>()
  for (const f of incident.findings) for (const id of f.flows) if (!out.has(id)) out.set(id, f)
  for (const flow of incident.flows) {
    if (flow.finding && !out.has(flow.id)) {
      const f = incident.findings.find((x) => x.id === flow.finding)
      if (f) out.set(flow.id, f)
    }
  }
  return out
}

/** Returns the flows the filter keeps, in the order asked. */
export function filterFlows(
  incident: Incident,
  filter: FlowFilter,
  sort: { key: FlowSortKey; desc: boolean } = { key: 'first', desc: false }
): Flow[] {
  const causes = findingByFlow(incident)
  const text = filter.text.trim().toLowerCase()
  const host = filter.host.trim()
  const port = filter.port.trim() === '' ? undefined : Number(filter.port)
  const kept = incident.flows.filter((f) => {
    if (filter.outcome && f.outcome !== filter.outcome) return false
    if (filter.cause && (causes.get(f.id)?.cause.kind ?? 'none') !== filter.cause) return false
    if (host && !f.src.startsWith(host) && !f.dst.startsWith(host)) return false
    if (port !== undefined && f.sport !== port && f.dport !== port) return false
    if (text && !flowText(f, causes.get(f.id)).includes(text)) return false
    return true
  })
  const value = (f: Flow): string | number => {
    if (sort.key === 'cause') return causes.get(f.id)?.cause.kind ?? ''
    if (sort.key === 'dport') return f.dport ?? -1
    return f[sort.key]
  }
  const dir = sort.desc ? -1 : 1
  return kept.sort((a, b) => {
    const x = value(a)
    const y = value(b)
    return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.first < b.first ? -1 : 1)
  })
}

function flowText(f: Flow, finding: Finding | undefined): string {
  const ends = `${f.src}:${f.sport ?? ''} ${f.dst}:${f.dport ?? ''}`
  return `${f.id} ${f.proto} ${ends} ${f.outcome} ${finding?.title ?? ''}`.toLowerCase()
}
