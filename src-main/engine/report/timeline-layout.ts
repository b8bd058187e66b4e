import { scaleLinear, scaleUtc } from 'd3-scale'
import { utcFormat } from 'd3-time-format'
import type { Incident, Outcome } from '../../shared/incident'
import { flowEnds } from './describe-flow'
import { failedByOutcome } from './summary'
import { collectMarks, conntrackBands, type GlyphKind, type Mark } from './timeline-marks'
import { extent, isoToUs } from './time'

export type { GlyphKind } from './timeline-marks'

/** One mark on a lane: a key packet, a retransmission, or a logged drop. */
export interface TimelineGlyph {
  kind: GlyphKind
  origin: Mark['origin']
  flow: string
  time: string
  xPx: number
  yPx: number
  /** One line for the hover title. */
  note: string
}

/** One failed conversation's row. */
export interface TimelineLane {
  flow: string
  outcome: Outcome
  label: string
  yPx: number
  x1Px: number
  x2Px: number
}

/** The heading row of an outcome's lanes. */
export interface TimelineGroupRow {
  outcome: Outcome
  total: number
  shown: number
  yPx: number
}

/** A shaded stretch of time across every lane (conntrack table full). */
export interface TimelineBand {
  x1Px: number
  x2Px: number
  label: string
}

/** Everything needed to draw the timeline, in pixels; no drawing. */
export interface TimelineLayout {
  widthPx: number
  heightPx: number
  plot: { leftPx: number; rightPx: number; topPx: number; bottomPx: number }
  /** "UTC, 2011-03-07 03:00:05.000 to 2011-03-07 05:00:05.000" */
  caption: string
  ticks: { xPx: number; label: string }[]
  groups: TimelineGroupRow[]
  lanes: TimelineLane[]
  glyphs: TimelineGlyph[]
  bands: TimelineBand[]
  legend: { kind: GlyphKind | 'band'; label: string; xPx: number; yPx: number }[]
  /** Failed flows left out for want of lanes. */
  hidden: number
  /** The "and N more" line, when flows were left out. */
  moreYPx?: number
}

/** Sizes and limits of the timeline. */
export interface TimelineOptions {
  widthPx?: number
  maxLanes?: number
}

/** Legend text of each glyph kind, in legend order. */
export const GLYPH_LABELS: Record<GlyphKind, string> = {
  syn: 'SYN',
  'syn-retransmit': 'SYN retransmitted',
  'syn-ack': 'SYN-ACK',
  'syn-ack-retransmit': 'SYN-ACK retransmitted',
  rst: 'RST',
  fin: 'FIN',
  icmp: 'ICMP error',
  'frag-needed': 'ICMP frag-needed / too big',
  'data-retransmit': 'data retransmitted',
  request: 'datagram / echo request',
  reply: 'reply',
  drop: 'logged drop'
}

const LABEL_PX = 310
const MARGIN_PX = 16
const TOP_PX = 48
const LANE_PX = 14
const GROUP_PX = 20
const LEGEND_ITEM_PX = 190
const LEGEND_ROW_PX = 18
const MIN_SPAN_US = 1000
const LABEL_CHARS = 46

/**
 * Returns the timeline's layout: one lane per failed conversation (at most
 * maxLanes, shared fairly between outcomes), grouped by outcome, with a glyph
 * per key packet, per SYN or SYN-ACK retransmission and per logged drop, and a
 * band for each conntrack-full finding; the time axis is UTC with d3's ticks.
 */
export function layoutTimeline(incident: Incident, options: TimelineOptions = {}): TimelineLayout {
  const widthPx = options.widthPx ?? 1000
  const groups = failedByOutcome(incident)
  const quota = shareLanes(
    groups.map((g) => g.flows.length),
    options.maxLanes ?? 60
  )
  const shown = groups.map((g, i) => g.flows.slice(0, quota[i]))
  const flows = shown.flat()
  const left = LABEL_PX
  const right = widthPx - MARGIN_PX
  const marks = collectMarks(flows, incident.findings)
  const bandTimes = conntrackBands(incident.findings, incident.flows)
  const times = [
    ...flows.flatMap((f) => [isoToUs(f.first), isoToUs(f.last)]),
    ...marks.map((m) => m.us),
    ...bandTimes.flatMap((b) => [b.fromUs, b.toUs])
  ].filter((t) => Number.isFinite(t))
  const [loUs, hiUs] = domain(times)
  const x = scaleLinear().domain([loUs, hiUs]).range([left, right])
  const axis = scaleUtc()
    .domain([new Date(loUs / 1000), new Date(hiUs / 1000)])
    .range([left, right])
  const tickDates = flows.length > 0 ? axis.ticks(Math.max(2, Math.floor((right - left) / 90))) : []
  const format = tickFormat(tickDates)
  const ticks = tickDates.map((d) => ({ xPx: px(axis(d)), label: format(d) }))

  let y = TOP_PX
  const rows: TimelineGroupRow[] = []
  const lanes: TimelineLane[] = []
  const laneOf = new Map<string, number>()
  groups.forEach((g, i) => {
    y += GROUP_PX
    rows.push({ outcome: g.outcome, total: g.flows.length, shown: shown[i].length, yPx: y - 6 })
    for (const f of shown[i]) {
      y += LANE_PX
      laneOf.set(f.id, y - LANE_PX / 2)
      lanes.push({
        flow: f.id,
        outcome: f.outcome,
        label: clip(`${f.id} ${f.proto} ${flowEnds(f)}`),
        yPx: y - LANE_PX / 2,
        x1Px: px(x(isoToUs(f.first))),
        x2Px: px(x(isoToUs(f.last)))
      })
    }
  })
  const glyphs = marks.map((m) => ({
    kind: m.kind,
    origin: m.origin,
    flow: m.flow,
    time: m.time,
    xPx: px(x(m.us)),
    yPx: laneOf.get(m.flow)!,
    note: m.note
  }))
  const total = groups.reduce((n, g) => n + g.flows.length, 0)
  let moreYPx: number | undefined
  if (flows.length < total) {
    y += GROUP_PX
    moreYPx = y - 6
  }
  const bottom = y + 6
  const bands = bandTimes.map((b) => {
    const x1 = px(x(b.fromUs))
    const x2 = Math.max(px(x(b.toUs)), x1 + 3)
    return { x1Px: x1, x2Px: x2, label: b.label }
  })
  const kinds = legendKinds(glyphs, bands.length > 0)
  const perRow = Math.max(1, Math.floor((widthPx - 2 * MARGIN_PX) / LEGEND_ITEM_PX))
  const legend = kinds.map((k, i) => ({
    kind: k,
    label: k === 'band' ? 'conntrack table full' : GLYPH_LABELS[k],
    xPx: MARGIN_PX + (i % perRow) * LEGEND_ITEM_PX,
    yPx: bottom + 20 + Math.floor(i / perRow) * LEGEND_ROW_PX
  }))
  const heightPx = bottom + 20 + Math.ceil(kinds.length / perRow) * LEGEND_ROW_PX + 6
  return {
    widthPx,
    heightPx,
    plot: { leftPx: left, rightPx: right, topPx: TOP_PX, bottomPx: bottom },
    caption:
      flows.length > 0
        ? `UTC, ${CAPTION(new Date(loUs / 1000))} to ${CAPTION(new Date(hiUs / 1000))}`
        : '',
    ticks,
    groups: rows,
    lanes,
    glyphs,
    bands,
    legend,
    hidden: total - flows.length,
    ...(moreYPx !== undefined ? { moreYPx } : {})
  }
}

const CAPTION = utcFormat('%Y-%m-%d %H:%M:%S.%L')

/** Shares lanes between groups one at a time, so a large outcome cannot hide a small one. */
function shareLanes(sizes: number[], max: number): number[] {
  const quota = sizes.map(() => 0)
  let left = Math.max(0, max)
  while (left > 0) {
    let gave = false
    for (let i = 0; i < sizes.length && left > 0; i++) {
      if (quota[i] < sizes[i]) {
        quota[i]++
        left--
        gave = true
      }
    }
    if (!gave) break
  }
  return quota
}

function domain(times: number[]): [number, number] {
  if (times.length === 0) return [0, MIN_SPAN_US]
  let [lo, hi] = extent(times)
  if (hi - lo < MIN_SPAN_US) {
    const mid = (lo + hi) / 2
    lo = mid - MIN_SPAN_US / 2
    hi = mid + MIN_SPAN_US / 2
  }
  const pad = (hi - lo) * 0.02
  return [lo - pad, hi + pad]
}

/** Picks the tick label format from the tick step: dates, minutes, seconds or milliseconds. */
function tickFormat(ticks: Date[]): (d: Date) => string {
  const stepMs = ticks.length > 1 ? ticks[1].getTime() - ticks[0].getTime() : 1000
  if (stepMs >= 86_400_000) return utcFormat('%Y-%m-%d')
  if (stepMs >= 60_000) return utcFormat('%H:%M')
  if (stepMs >= 1000) return utcFormat('%H:%M:%S')
  return utcFormat('%H:%M:%S.%L')
}

function legendKinds(glyphs: TimelineGlyph[], band: boolean): (GlyphKind | 'band')[] {
  const used = new Set(glyphs.map((g) => g.kind))
  const kinds: (GlyphKind | 'band')[] = (Object.keys(GLYPH_LABELS) as GlyphKind[]).filter((k) =>
    used.has(k)
  )
  if (band) kinds.push('band')
  return kinds
}

function px(v: number): number {
  return Math.round(v * 10) / 10
}

function clip(text: string): string {
  return text.length <= LABEL_CHARS ? text : text.slice(0, LABEL_CHARS - 1) + '…'
}
