import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildTimeline, isoToUs } from '../../../src-renderer/timeline/build-timeline'
import { hitMark, layoutMarks, type View } from '../../../src-renderer/timeline/layout'
import type { TimelineData } from '../../../src-renderer/timeline/timeline-data'
import type { Flow, Incident } from '../../../src-main/shared/incident'

// The timeline's pure layout, checked in Node (no browser needed) against brute-force counts.

/** Returns timeline data with the given sorted times per lane. */
function dataOf(lanes: number[][]): TimelineData {
  const times = lanes.flat()
  const laneStart = new Int32Array(lanes.length + 1)
  let i = 0
  lanes.forEach((l, li) => {
    laneStart[li] = i
    i += l.length
  })
  laneStart[lanes.length] = i
  return {
    lanes: lanes.map((l, li) => ({
      key: `L${li}`,
      label: `L${li}`,
      outcome: 'syn-timeout',
      flows: [li],
      firstUs: l[0] ?? 0,
      lastUs: l.at(-1) ?? 0
    })),
    laneStart,
    timeUs: Float64Array.from(times),
    mark: new Uint8Array(times.length),
    point: new Uint8Array(times.length),
    flow: new Int32Array(times.length),
    frames: new Map(),
    points: [],
    bands: [],
    startUs: 0,
    endUs: 1e6
  }
}

const lanesArb = fc.array(
  fc
    .array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 400 })
    .map((a) => a.sort((x, y) => x - y)),
  { minLength: 1, maxLength: 8 }
)

describe('timeline layout', () => {
  it('draws every mark in view once: as a glyph where sparse, inside a per-pixel count where dense', () => {
    fc.assert(
      fc.property(
        lanesArb,
        fc.integer({ min: 0, max: 900_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 20, max: 400 }),
        (lanes, start, span, widthPx) => {
          const data = dataOf(lanes)
          const view: View = {
            startUs: start,
            endUs: start + span,
            leftPx: 100,
            widthPx,
            firstLane: 0,
            laneCount: lanes.length
          }
          const layout = layoutMarks(data, view)
          for (let row = 0; row < lanes.length; row++) {
            const inView = lanes[row].filter((t) => t >= start && t <= start + span).length
            let glyphs = 0
            let counted = 0
            for (let g = 0; g < layout.glyphCount; g++) if (layout.glyphRow[g] === row) glyphs++
            for (let b = 0; b < layout.binCount; b++) {
              if (layout.binRow[b] !== row) continue
              counted += layout.binN[b]
              expect(layout.binX[b]).toBeGreaterThanOrEqual(100)
              expect(layout.binX[b]).toBeLessThan(100 + widthPx)
            }
            expect(glyphs + counted).toBe(inView)
            expect(glyphs === 0 || counted === 0).toBe(true)
          }
          for (let g = 0; g < layout.glyphCount; g++) {
            const x = layout.glyphX[g]
            expect(x).toBeGreaterThanOrEqual(100 - 1e-6)
            expect(x).toBeLessThanOrEqual(100 + widthPx + 1e-3)
            expect(hitMark(layout, x, layout.glyphRow[g], 0.01)).toBeGreaterThanOrEqual(0)
          }
        }
      ),
      { numRuns: 300 }
    )
  })

  it('shows only the lanes scrolled into view', () => {
    const data = dataOf([[10], [20], [30], [40]])
    const layout = layoutMarks(data, {
      startUs: 0,
      endUs: 100,
      leftPx: 0,
      widthPx: 100,
      firstLane: 2,
      laneCount: 5
    })
    expect(layout.glyphCount).toBe(2)
    expect([...layout.glyphIndex.slice(0, 2)]).toEqual([2, 3])
    expect([...layout.glyphRow.slice(0, 2)]).toEqual([0, 1])
  })

  it('makes lanes grouped by outcome, failures first, and host-pair lanes that hold every conversation between two hosts', () => {
    const flow = (
      id: string,
      src: string,
      dst: string,
      outcome: Flow['outcome'],
      first: string
    ): Flow => ({
      id,
      proto: 'tcp',
      src,
      sport: 40000,
      dst,
      dport: 80,
      first,
      last: first,
      outcome,
      packets: 1,
      bytes: 60,
      seenAt: ['c'],
      keyPackets: [{ what: 'syn', time: first, seenAt: ['c'], frames: ['c:c.pcap#1'] }],
      synRetransmitOffsets: outcome === 'syn-timeout' ? [1, 3] : undefined
    })
    const incident: Incident = {
      schema: 'verdict.incident/1',
      inputs: [],
      findings: [],
      flows: [
        flow('F1', '10.0.0.1', '10.0.0.2', 'established', '2024-01-01T00:00:00.000001Z'),
        flow('F2', '10.0.0.2', '10.0.0.1', 'syn-timeout', '2024-01-01T00:00:01.000000Z'),
        flow('F3', '10.0.0.3', '10.0.0.2', 'refused-rst', '2024-01-01T00:00:02.000000Z')
      ]
    }
    const byFlow = buildTimeline(incident, 'conversation')
    expect(byFlow.lanes.map((l) => l.key)).toEqual(['F2', 'F3', 'F1'])
    // F2: its SYN and two retransmissions, in time order.
    const f2 = [...byFlow.timeUs.slice(byFlow.laneStart[0], byFlow.laneStart[1])]
    const t0 = isoToUs('2024-01-01T00:00:01.000000Z')
    expect(f2).toEqual([t0, t0 + 1e6, t0 + 3e6])
    expect(byFlow.frames.get(byFlow.laneStart[2])).toBe('c:c.pcap#1')
    const byPair = buildTimeline(incident, 'host-pair')
    expect(byPair.lanes.map((l) => [l.key, l.outcome, l.flows.length])).toEqual([
      ['10.0.0.1 ↔ 10.0.0.2', 'syn-timeout', 2],
      ['10.0.0.2 ↔ 10.0.0.3', 'refused-rst', 1]
    ])
    expect(isoToUs('2024-01-01T00:00:00.000000001Z') - isoToUs('2024-01-01T00:00:00Z')).toBe(0)
  })
})
