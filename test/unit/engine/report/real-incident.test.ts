import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Incident } from '../../../../src-main/shared/incident'
import { analyse } from '../../../../src-main/engine/analyse'
import { layoutTimeline } from '../../../../src-main/engine/report/timeline-layout'
import { toHtml } from '../../../../src-main/engine/report/to-html'
import { toMarkdown } from '../../../../src-main/engine/report/to-markdown'
import { toText } from '../../../../src-main/engine/report/to-text'
import { toTimelineSvg } from '../../../../src-main/engine/report/timeline-svg'
import { CORPUS } from '../../../support/run'
import { corpusSource, memorySource } from '../../../support/sources'
import { xmlProblems } from './well-formed-xml'

const CAPTURES = [
  'zeek_rotation.pcap',
  'zeek_syn-then-rst.pcap',
  'zeek_icmp6-toobig.pcap',
  'zeek_icmp-destunreach-udp.pcap',
  'tcpdump_mptcp-tcprst.pcap',
  'zeek_retransmit-timeout.pcapng'
]

describe('reports of a real analysis of corpus captures', () => {
  let incident: Incident
  beforeAll(async () => {
    const smtp = readFileSync(resolve(CORPUS, 'pcaps', 'zeek_smtp.pcap'))
    incident = await analyse([
      ...CAPTURES.map((name) => corpusSource(name)),
      // Cut mid-record: the packets before the cut are kept, with a warning.
      memorySource('cut/smtp.pcap', smtp.subarray(0, 5000)),
      memorySource('junk.bin', new TextEncoder().encode('\u0000\u0001not anything')),
      memorySource('empty.pcap', new Uint8Array(0))
    ])
  })

  it('lists every failed conversation and every input problem in each format', () => {
    const failed = incident.flows.filter(
      (f) => f.outcome !== 'established' && f.outcome !== 'answered'
    )
    expect(failed.length).toBeGreaterThan(10)
    const problems = incident.inputs.flatMap((i) => [...i.errors, ...i.warnings])
    expect(problems.length).toBeGreaterThanOrEqual(3)
    const text = toText(incident)
    const md = toMarkdown(incident)
    const html = toHtml(incident)
    for (const f of failed) {
      expect(text).toContain(`  ${f.id} ${f.proto} `)
      expect(md).toContain(`| ${f.id} | ${f.proto} |`)
      expect(html).toContain(`<tr><td>${f.id}</td><td>${f.proto}</td>`)
    }
    for (const i of incident.inputs) {
      expect(md).toContain(`| \`${i.path}\` | ${i.kind} | ${i.format} |`)
      expect(html).toContain(
        `<tr><td><code>${i.path}</code></td><td>${i.kind}</td><td>${i.format}</td>`
      )
    }
    for (const p of problems) {
      expect(text).toContain(p)
      expect(html).toContain(
        p
          .replace(/&/g, '&amp;')
          .replace(/</g, '&lt;')
          .replace(/>/g, '&gt;')
          .replace(/"/g, '&quot;')
          .replace(/'/g, '&#39;')
      )
    }
  })

  it('draws a well-formed timeline with a glyph per key packet of the flows it shows', () => {
    const layout = layoutTimeline(incident)
    const shown = new Set(layout.lanes.map((l) => l.flow))
    const keyPackets = incident.flows
      .filter((f) => shown.has(f.id))
      .reduce((n, f) => n + (f.keyPackets?.length ?? 0), 0)
    expect(keyPackets).toBeGreaterThan(10)
    const svg = toTimelineSvg(incident)
    expect(xmlProblems(svg)).toEqual([])
    expect(svg.split('<path class="glyph key-packet').length - 1).toBe(keyPackets)
    const retransmits = incident.flows
      .filter((f) => shown.has(f.id))
      .reduce(
        (n, f) =>
          n + (f.synRetransmitOffsets?.length ?? 0) + (f.synAckRetransmitOffsets?.length ?? 0),
        0
      )
    expect(svg.split('<path class="glyph retransmit').length - 1).toBe(retransmits)
    // The captures span years: the axis says so in its ticks.
    expect(layout.ticks.length).toBeGreaterThan(2)
    for (const k of layout.ticks) expect(k.xPx).toBeGreaterThanOrEqual(layout.plot.leftPx)
  })

  it('writes the HTML with no external reference whatever the captures hold', () => {
    const html = toHtml(incident)
    expect(html).not.toMatch(/<script|<[^>]*\s(src|href)\s*=/i)
    expect(xmlProblems(html.slice(html.indexOf('<svg '), html.indexOf('</svg>') + 6))).toEqual([])
  })
})
