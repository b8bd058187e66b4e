import { describe, expect, it } from 'vitest'
import type { Evidence, Flow, Incident } from '../../../../src-main/shared/incident'
import { layoutTimeline } from '../../../../src-main/engine/report/timeline-layout'
import { REPORT_LIMITS } from '../../../../src-main/engine/report/report-view'
import { toHtml } from '../../../../src-main/engine/report/to-html'
import { toMarkdown } from '../../../../src-main/engine/report/to-markdown'
import { toText } from '../../../../src-main/engine/report/to-text'
import { xmlProblems } from './well-formed-xml'

/** 100,000 failed conversations, one conntrack-full finding over half of them, 1,000 logged drops. */
function largeIncident(): Incident {
  const flows: Flow[] = []
  const base = Date.UTC(2024, 0, 1, 12)
  for (let i = 0; i < 100_000; i++) {
    const time = new Date(base + i * 10).toISOString().replace('Z', '000Z')
    flows.push({
      id: `F${i + 1}`,
      proto: 'tcp',
      src: '192.0.2.1',
      sport: 1024 + (i % 60000),
      dst: '198.51.100.9',
      dport: 443,
      first: time,
      last: time,
      outcome: i % 10 === 0 ? 'refused-rst' : 'syn-timeout',
      packets: 1,
      bytes: 60,
      seenAt: ['edge'],
      keyPackets: [{ what: 'syn', time, seenAt: ['edge'] }]
    })
  }
  const drops: Evidence[] = Array.from({ length: 1000 }, (_, i) => ({
    kind: 'log',
    weight: 'proves',
    text: 'dropped',
    file: 'kern.log',
    line: i + 1,
    raw: `DROP SRC=192.0.2.1 line ${i}`,
    time: new Date(base + i * 5).toISOString().replace('Z', '000Z')
  }))
  return {
    schema: 'verdict.incident/1',
    inputs: [],
    flows,
    findings: [
      {
        id: 'X1',
        flows: flows.slice(1, 50_001).map((f) => f.id),
        outcome: 'syn-timeout',
        title: 'conntrack table full',
        cause: { kind: 'conntrack-full' },
        confidence: 0.8,
        evidence: [],
        explanation: 'Full.'
      },
      {
        id: 'X2',
        flows: ['F2', 'F3'],
        outcome: 'syn-timeout',
        title: 'dropped by a rule',
        cause: { kind: 'rule', rule: '-A INPUT -j DROP' },
        confidence: 0.9,
        evidence: drops,
        explanation: 'Dropped.'
      }
    ]
  }
}

describe('a large incident', () => {
  const incident = largeIncident()

  it('keeps the timeline to 60 lanes and its band over the conntrack-full flows', () => {
    const t = layoutTimeline(incident)
    expect(t.lanes).toHaveLength(60)
    expect(t.hidden).toBe(100_000 - 60)
    expect(t.bands).toHaveLength(1)
    expect(t.glyphs.filter((g) => g.kind === 'drop')).toHaveLength(1000)
  })

  it('bounds the Markdown and HTML reports; the text lists every failure', () => {
    const md = toMarkdown(incident)
    const html = toHtml(incident)
    expect(md).toContain(`And ${90_000 - REPORT_LIMITS.flowsPerOutcome} more in the JSON output.`)
    expect(html).toContain(`And ${10_000 - REPORT_LIMITS.flowsPerOutcome} more in the JSON output.`)
    expect(md.length).toBeLessThan(2_000_000)
    expect(html.length).toBeLessThan(2_000_000)
    expect(xmlProblems(html.slice(html.indexOf('<svg '), html.indexOf('</svg>') + 6))).toEqual([])
    expect(
      toText(incident)
        .split('\n')
        .filter((l) => l.startsWith('  F'))
    ).toHaveLength(100_000)
  })
})
