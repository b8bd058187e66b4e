/* global window, document */
/**
 * The page side of `bench/timeline.mjs`: builds a timeline of N synthetic events and times
 * the app's own layout and canvas drawing over a sequence of zoom and pan frames, each frame
 * between performance marks. Bundled by esbuild and run in Chromium.
 */
import { drawTimeline } from '../src-renderer/timeline/draw-timeline.ts'
import { LABEL_PX, LANE_PX } from '../src-renderer/timeline/sizes.ts'
import { layoutMarks } from '../src-renderer/timeline/layout.ts'

const PALETTE = {
  text: '#1b1f24',
  muted: '#6b7380',
  grid: '#c9ced5',
  failed: '#c0392b',
  good: '#2e7d32',
  band: 'rgba(214,120,0,0.16)',
  selected: 'rgba(11,98,214,0.14)',
  marks: [
    '#0b62d6',
    '#d0021b',
    '#2e7d32',
    '#b00020',
    '#555f6d',
    '#8e44ad',
    '#e67e22',
    '#d0021b',
    '#a0662a'
  ]
}
const OUTCOMES = ['syn-timeout', 'refused-rst', 'one-way', 'stalled', 'established', 'answered']

/** Returns timeline data with `events` marks over `lanes` lanes, spread over `spanUs` (seeded, deterministic). */
function makeData(events, lanes, spanUs, seed) {
  let s = seed >>> 0
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32
  const per = Math.floor(events / lanes)
  const total = per * lanes
  const data = {
    lanes: [],
    laneStart: new Int32Array(lanes + 1),
    timeUs: new Float64Array(total),
    mark: new Uint8Array(total),
    point: new Uint8Array(total),
    flow: new Int32Array(total),
    frames: new Map(),
    points: ['client', 'server'],
    bands: [
      { startUs: 1.7e15 + spanUs * 0.4, endUs: 1.7e15 + spanUs * 0.45, label: 'conntrack full' }
    ],
    startUs: 1.7e15,
    endUs: 1.7e15 + spanUs
  }
  let i = 0
  for (let l = 0; l < lanes; l++) {
    data.laneStart[l] = i
    // Each lane's marks sit in a window of the span, in time order.
    const from = data.startUs + rand() * spanUs * 0.5
    const width = spanUs * (0.05 + rand() * 0.45)
    let t = from
    const step = width / per
    for (let k = 0; k < per; k++) {
      t += step * 2 * rand()
      data.timeUs[i] = t
      data.mark[i] = Math.floor(rand() * 9)
      data.point[i] = rand() < 0.5 ? 0 : 1
      data.flow[i] = l
      i++
    }
    data.lanes.push({
      key: `L${l}`,
      label: `10.0.${l >> 8}.${l & 255}:${40000 + (l % 20000)} → 10.1.0.5:8080`,
      outcome: OUTCOMES[l % OUTCOMES.length],
      flows: [l],
      firstUs: from,
      lastUs: t
    })
  }
  data.laneStart[lanes] = i
  return data
}

/** The frames of one run: zoom in towards a point down to microseconds, pan, scroll lanes, zoom out. */
function views(data, plotW, laneCount) {
  const out = []
  const full = [data.startUs, data.endUs]
  let [a, b] = full
  const centre = data.startUs + (data.endUs - data.startUs) * 0.37
  const lanes = data.lanes.length
  let first = 0
  const push = () =>
    out.push({
      startUs: a,
      endUs: b,
      leftPx: LABEL_PX,
      widthPx: plotW,
      firstLane: first,
      laneCount
    })
  push()
  while (b - a > plotW * 0.05) {
    a = centre - (centre - a) / 1.25
    b = centre + (b - centre) / 1.25
    push()
  }
  for (let k = 0; k < 30; k++) {
    const d = (b - a) * 0.05
    a += d
    b += d
    push()
  }
  while (b - a < full[1] - full[0]) {
    const c = (a + b) / 2
    a = c - (c - a) * 1.25
    b = c + (b - c) * 1.25
    push()
  }
  ;[a, b] = full
  for (let k = 0; k < 30; k++) {
    first = Math.min(Math.max(0, lanes - laneCount), first + laneCount)
    push()
  }
  for (let k = 0; k < 30; k++) {
    const d = (b - a) * 0.03
    a += d
    b += d
    push()
  }
  return out
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

/** Times every frame of one scenario; returns the frame times in ms and what was drawn. */
window.runTimelineBench = ({ events, lanes, seed }) => {
  const built = performance.now()
  const data = makeData(events, lanes, 3600e6, seed)
  const buildMs = performance.now() - built
  const canvas = document.createElement('canvas')
  const size = { widthPx: 930, heightPx: 340 }
  canvas.width = size.widthPx
  canvas.height = size.heightPx
  document.body.append(canvas)
  const ctx = canvas.getContext('2d')
  const plotW = size.widthPx - LABEL_PX - 8
  const laneCount = Math.floor(size.heightPx / LANE_PX)
  const frames = views(data, plotW, laneCount)
  const times = []
  let layout
  let maxGlyphs = 0
  let maxBins = 0
  const selected = new Set([0])
  frames.forEach((view, n) => {
    performance.mark(`frame-${n}`)
    layout = layoutMarks(data, view, layout)
    drawTimeline(ctx, data, view, layout, PALETTE, size, selected)
    // Reading a pixel makes the canvas finish drawing, so the time includes rasterising.
    ctx.getImageData(0, 0, 1, 1)
    const m = performance.measure('timeline-frame', `frame-${n}`)
    times.push(m.duration)
    maxGlyphs = Math.max(maxGlyphs, layout.glyphCount)
    maxBins = Math.max(maxBins, layout.binCount)
  })
  canvas.remove()
  const sorted = [...times].sort((x, y) => x - y)
  return {
    events: data.timeUs.length,
    lanes,
    frames: frames.length,
    buildMs,
    p50Ms: percentile(sorted, 0.5),
    p95Ms: percentile(sorted, 0.95),
    maxMs: sorted[sorted.length - 1],
    meanMs: times.reduce((x, y) => x + y, 0) / times.length,
    over16: times.filter((t) => t >= 16).length,
    /** The first frame runs cold (before the JIT has compiled the layout). */
    firstMs: times[0],
    maxGlyphs,
    maxBins,
    smallestSpanUs: Math.min(...frames.map((f) => f.endUs - f.startUs))
  }
}
