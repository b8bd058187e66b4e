import type { TimelineData } from './timeline-data'

/** The part of the timeline on screen. */
export interface View {
  /** Time at the left and right edges of the plot, epoch µs. */
  startUs: number
  endUs: number
  /** Left edge of the plot and its width, px (the lane labels sit left of it). */
  leftPx: number
  widthPx: number
  /** First lane shown and how many fit. */
  firstLane: number
  laneCount: number
}

/** What to draw: single marks where they are sparse, per-pixel counts where they are dense. */
export interface Layout {
  /** Single marks: x (px), row (0 = first lane shown) and the index of the mark in the data. */
  glyphCount: number
  glyphX: Float32Array
  glyphRow: Int32Array
  glyphIndex: Int32Array
  /** Aggregated columns: x (px), row, marks in that pixel. */
  binCount: number
  binX: Float32Array
  binRow: Int32Array
  binN: Int32Array
  /** Each shown lane's span (first to last packet), px, clipped to the plot. */
  spans: { row: number; x0: number; x1: number }[]
}

/** Above this many marks per pixel of width, a lane is drawn as counts per pixel. */
export const DENSE_PER_PX = 0.25

/** Returns the marks of the lanes in view, aggregating lanes whose marks are too dense to tell apart. */
export function layoutMarks(data: TimelineData, view: View, reuse?: Layout): Layout {
  const lanes = Math.max(0, Math.min(view.laneCount, data.lanes.length - view.firstLane))
  const width = Math.max(1, Math.floor(view.widthPx))
  const glyphCap = Math.ceil(width * DENSE_PER_PX) * lanes + 1
  const binCap = width * lanes + 1
  const out = fit(reuse, glyphCap, binCap)
  const k = view.widthPx / Math.max(1e-9, view.endUs - view.startUs)
  const toX = (t: number): number => view.leftPx + (t - view.startUs) * k
  for (let row = 0; row < lanes; row++) {
    const li = view.firstLane + row
    const lane = data.lanes[li]
    const x0 = Math.max(view.leftPx, toX(lane.firstUs))
    const x1 = Math.min(view.leftPx + view.widthPx, toX(lane.lastUs))
    if (x1 >= x0) out.spans.push({ row, x0, x1 })
    const lo = lowerBound(data.timeUs, data.laneStart[li], data.laneStart[li + 1], view.startUs)
    const hi = upperBound(data.timeUs, lo, data.laneStart[li + 1], view.endUs)
    if (hi - lo <= width * DENSE_PER_PX) {
      for (let i = lo; i < hi; i++) {
        const g = out.glyphCount++
        out.glyphX[g] = toX(data.timeUs[i])
        out.glyphRow[g] = row
        out.glyphIndex[g] = i
      }
      continue
    }
    // Dense: one count per pixel column, each found by binary search, so the cost
    // follows the width of the screen, not the number of marks.
    let from = lo
    for (let px = 0; px < width && from < hi; px++) {
      const edge = view.startUs + (px + 1) / k
      const to = px === width - 1 ? hi : upperBound(data.timeUs, from, hi, edge)
      if (to > from) {
        const b = out.binCount++
        out.binX[b] = view.leftPx + px
        out.binRow[b] = row
        out.binN[b] = to - from
      }
      from = to
    }
  }
  return out
}

/** Returns the index of the mark nearest (x, row) within `radiusPx`, or -1. */
export function hitMark(layout: Layout, x: number, row: number, radiusPx = 5): number {
  let best = -1
  let bestD = radiusPx
  for (let g = 0; g < layout.glyphCount; g++) {
    if (layout.glyphRow[g] !== row) continue
    const d = Math.abs(layout.glyphX[g] - x)
    if (d <= bestD) {
      bestD = d
      best = layout.glyphIndex[g]
    }
  }
  return best
}

/** Returns the first index in [lo, hi) whose time is >= t. */
export function lowerBound(a: Float64Array, lo: number, hi: number, t: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid] < t) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Returns the first index in [lo, hi) whose time is > t. */
export function upperBound(a: Float64Array, lo: number, hi: number, t: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid] <= t) lo = mid + 1
    else hi = mid
  }
  return lo
}

function fit(reuse: Layout | undefined, glyphCap: number, binCap: number): Layout {
  const big = (cap: number, have: number): boolean => have >= cap
  if (reuse && big(glyphCap, reuse.glyphX.length) && big(binCap, reuse.binX.length)) {
    reuse.glyphCount = 0
    reuse.binCount = 0
    reuse.spans = []
    return reuse
  }
  return {
    glyphCount: 0,
    glyphX: new Float32Array(glyphCap),
    glyphRow: new Int32Array(glyphCap),
    glyphIndex: new Int32Array(glyphCap),
    binCount: 0,
    binX: new Float32Array(binCap),
    binRow: new Int32Array(binCap),
    binN: new Int32Array(binCap),
    spans: []
  }
}
