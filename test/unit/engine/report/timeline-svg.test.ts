import { describe, expect, it } from 'vitest'
import type { Flow, Incident } from '../../../../src-main/shared/incident'
import { layoutTimeline } from '../../../../src-main/engine/report/timeline-layout'
import { drawTimeline, toTimelineSvg } from '../../../../src-main/engine/report/timeline-svg'
import { isoToUs } from '../../../../src-main/engine/report/time'
import { sampleIncident } from './sample-incident'
import { xmlProblems } from './well-formed-xml'

const count = (svg: string, cls: string) => svg.split(`<path class="glyph ${cls}`).length - 1

describe('the timeline layout', () => {
  const incident = sampleIncident()
  const t = layoutTimeline(incident)

  it('gives each failed conversation a lane, grouped by outcome', () => {
    expect(t.groups.map((g) => [g.outcome, g.total, g.shown])).toEqual([
      ['syn-timeout', 4, 4],
      ['refused-rst', 1, 1],
      ['stalled', 1, 1]
    ])
    expect(t.lanes.map((l) => l.flow)).toEqual(['F1', 'F2', 'F4', 'F5', 'F3', 'F7'])
    const ys = t.lanes.map((l) => l.yPx)
    expect([...ys].sort((a, b) => a - b)).toEqual(ys)
    expect(t.hidden).toBe(0)
  })

  it('puts a glyph per key packet, per retransmission and per logged drop', () => {
    const shown = incident.flows.filter((f) => t.lanes.some((l) => l.flow === f.id))
    const of = (origin: string) => t.glyphs.filter((g) => g.origin === origin)
    expect(of('key-packet')).toHaveLength(
      shown.reduce((n, f) => n + (f.keyPackets?.length ?? 0), 0)
    )
    expect(of('retransmit')).toHaveLength(
      shown.reduce(
        (n, f) =>
          n + (f.synRetransmitOffsets?.length ?? 0) + (f.synAckRetransmitOffsets?.length ?? 0),
        0
      )
    )
    // X1's two kernel log lines; X3's conntrack-full lines make a band instead.
    expect(of('log').map((g) => [g.flow, g.kind, g.time])).toEqual([
      ['F1', 'drop', '2011-03-07T03:00:05.000180Z'],
      ['F1', 'drop', '2011-03-07T03:00:06.000200Z']
    ])
    expect(
      t.glyphs.find((g) => g.flow === 'F7' && g.origin === 'key-packet' && g.kind.includes('frag'))
        ?.kind
    ).toBe('frag-needed')
    expect(
      t.glyphs.filter((g) => g.kind === 'syn-retransmit' && g.flow === 'F1').map((g) => g.time)
    ).toEqual([
      '2011-03-07T03:00:06.000100Z',
      '2011-03-07T03:00:08.000100Z',
      '2011-03-07T03:00:12.000100Z'
    ])
  })

  it('places time left to right in UTC, with d3 ticks inside the plot', () => {
    const { leftPx, rightPx } = t.plot
    const byTime = [...t.glyphs].sort((a, b) => isoToUs(a.time) - isoToUs(b.time))
    for (let i = 1; i < byTime.length; i++)
      expect(byTime[i].xPx).toBeGreaterThanOrEqual(byTime[i - 1].xPx)
    for (const g of t.glyphs) expect(g.xPx >= leftPx && g.xPx <= rightPx).toBe(true)
    expect(t.ticks.map((k) => k.label)).toEqual(
      ['05', '06', '07', '08', '09', '10', '11', '12', '13'].map((s) => `03:00:${s}`)
    )
    expect(t.caption).toBe('UTC, 2011-03-07 03:00:04.840 to 2011-03-07 03:00:13.159')
    // One second of axis is the same width everywhere.
    const steps = t.ticks.slice(1).map((k, i) => Math.round(k.xPx - t.ticks[i].xPx))
    expect(new Set(steps).size).toBe(1)
    expect(t.bands).toHaveLength(1)
    const band = t.bands[0]
    expect(band.x1Px).toBeGreaterThan(t.ticks[2].xPx)
    expect(band.x2Px).toBeLessThan(t.ticks[6].xPx)
  })

  it('shares the lanes fairly and says how many were left out', () => {
    const many = manyFailures(90, 10)
    const small = layoutTimeline(many, { maxLanes: 60 })
    expect(small.lanes).toHaveLength(60)
    expect(small.groups.map((g) => [g.outcome, g.total, g.shown])).toEqual([
      ['syn-timeout', 90, 50],
      ['refused-rst', 10, 10]
    ])
    expect(small.hidden).toBe(40)
    const svg = drawTimeline(small)
    expect(svg).toContain('and 40 more failed conversation(s) not drawn')
    expect(count(svg, 'key-packet')).toBe(60)
    expect(xmlProblems(svg)).toEqual([])
  })
})

describe('the timeline SVG', () => {
  const incident = sampleIncident()
  const svg = toTimelineSvg(incident)

  it('is well-formed XML with one glyph per key packet of the shown flows', () => {
    expect(xmlProblems(svg)).toEqual([])
    const failed = incident.flows.filter((f) => !['established', 'answered'].includes(f.outcome))
    expect(count(svg, 'key-packet')).toBe(
      failed.reduce((n, f) => n + (f.keyPackets?.length ?? 0), 0)
    )
    expect(count(svg, 'retransmit')).toBe(7)
    expect(count(svg, 'log')).toBe(2)
    expect(svg.split('<rect class="band"').length - 1).toBe(1)
    expect(svg).toContain('>SYN retransmitted</text>')
    expect(svg).toContain('>conntrack table full</text>')
  })

  it('escapes names it did not choose', () => {
    const hostile = sampleIncident()
    hostile.flows[0].keyPackets![0].seenAt = ['<tap & "probe">']
    const out = toTimelineSvg(hostile)
    expect(xmlProblems(out)).toEqual([])
    expect(out).toContain('seen at &lt;tap &amp; &quot;probe&quot;&gt;')
  })

  it('is the same every time (the snapshot beside this test)', async () => {
    expect(toTimelineSvg(sampleIncident())).toBe(svg)
    await expect(svg).toMatchFileSnapshot('__snapshots__/sample-timeline.svg')
  })

  it('says so when nothing failed', () => {
    const fine: Incident = { ...sampleIncident(), flows: [], findings: [] }
    const out = toTimelineSvg(fine)
    expect(xmlProblems(out)).toEqual([])
    expect(out).toContain('No failed conversations.')
  })
})

/** An incident of `timeouts` SYN timeouts and `refused` refusals, a second apart. */
function manyFailures(timeouts: number, refused: number): Incident {
  const flows: Flow[] = []
  for (let i = 0; i < timeouts + refused; i++) {
    const time = new Date(Date.UTC(2024, 0, 1, 12, 0, i)).toISOString().replace('Z', '000Z')
    flows.push({
      id: `F${i + 1}`,
      proto: 'tcp',
      src: '192.0.2.1',
      sport: 30000 + i,
      dst: '198.51.100.9',
      dport: 443,
      first: time,
      last: time,
      outcome: i < timeouts ? 'syn-timeout' : 'refused-rst',
      packets: 1,
      bytes: 60,
      seenAt: ['edge'],
      keyPackets: [{ what: 'syn', time, seenAt: ['edge'] }]
    })
  }
  return { schema: 'verdict.incident/1', inputs: [], flows, findings: [] }
}
