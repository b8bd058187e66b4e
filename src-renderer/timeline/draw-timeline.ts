import { isFailed, outcomeLabel } from '../model/outcomes'
import type { Layout, View } from './layout'
import { LABEL_PX, LANE_PX } from './sizes'
import { Mark, type TimelineData } from './timeline-data'

/** Colours the timeline is drawn in, read from the theme's CSS variables. */
export interface Palette {
  text: string
  muted: string
  grid: string
  failed: string
  good: string
  band: string
  selected: string
  marks: string[]
}

/** Returns the palette from the CSS variables of `el` (--tl-text, --tl-mark-0 …). */
export function readPalette(el: Element): Palette {
  const css = getComputedStyle(el)
  const v = (name: string): string => css.getPropertyValue(name).trim() || '#888'
  return {
    text: v('--tl-text'),
    muted: v('--tl-muted'),
    grid: v('--tl-grid'),
    failed: v('--tl-failed'),
    good: v('--tl-good'),
    band: v('--tl-band'),
    selected: v('--tl-selected'),
    marks: Array.from({ length: 11 }, (_, i) => v(`--tl-mark-${i}`))
  }
}

/** Draws lanes, bands, spans, marks and counts into a 2D context (already scaled for the device). */
export function drawTimeline(
  ctx: CanvasRenderingContext2D,
  data: TimelineData,
  view: View,
  layout: Layout,
  palette: Palette,
  size: { widthPx: number; heightPx: number },
  selectedLanes: ReadonlySet<number>
): void {
  ctx.clearRect(0, 0, size.widthPx, size.heightPx)
  const rows = Math.min(view.laneCount, data.lanes.length - view.firstLane)
  const k = view.widthPx / Math.max(1e-9, view.endUs - view.startUs)
  const toX = (t: number): number => view.leftPx + (t - view.startUs) * k
  ctx.font = '11px system-ui, sans-serif'
  ctx.textBaseline = 'middle'
  let group = ''
  for (let row = 0; row < rows; row++) {
    const li = view.firstLane + row
    const lane = data.lanes[li]
    const y = row * LANE_PX
    if (selectedLanes.has(li)) {
      ctx.fillStyle = palette.selected
      ctx.fillRect(0, y, size.widthPx, LANE_PX)
    }
    if (lane.outcome !== group) {
      group = lane.outcome
      ctx.fillStyle = palette.grid
      ctx.fillRect(0, y, size.widthPx, 1)
    }
    ctx.fillStyle = isFailed(lane.outcome) ? palette.failed : palette.good
    ctx.fillRect(2, y + 3, 3, LANE_PX - 6)
    ctx.fillStyle = palette.text
    ctx.fillText(clip(ctx, lane.label, LABEL_PX - 92), 9, y + LANE_PX / 2)
    ctx.fillStyle = palette.muted
    ctx.fillText(clip(ctx, outcomeLabel(lane.outcome), 76), LABEL_PX - 80, y + LANE_PX / 2)
  }
  ctx.save()
  ctx.beginPath()
  ctx.rect(view.leftPx, 0, view.widthPx, size.heightPx)
  ctx.clip()
  ctx.fillStyle = palette.band
  for (const b of data.bands) {
    const x0 = toX(b.startUs)
    ctx.fillRect(x0, 0, Math.max(2, toX(b.endUs) - x0), size.heightPx)
  }
  ctx.fillStyle = palette.grid
  for (const s of layout.spans)
    ctx.fillRect(s.x0, s.row * LANE_PX + LANE_PX / 2 - 0.5, Math.max(1, s.x1 - s.x0), 1)
  drawBins(ctx, layout, palette)
  drawGlyphs(ctx, data, layout, palette.marks)
  ctx.restore()
}

function drawBins(ctx: CanvasRenderingContext2D, layout: Layout, palette: Palette): void {
  ctx.fillStyle = palette.muted
  for (let b = 0; b < layout.binCount; b++) {
    const h = Math.min(LANE_PX - 4, 2 + 2 * Math.log2(layout.binN[b]))
    ctx.fillRect(layout.binX[b], layout.binRow[b] * LANE_PX + (LANE_PX - h) / 2, 1, h)
  }
}

/** One pass over the marks into one path per kind: few state changes, however many marks. */
function drawGlyphs(
  ctx: CanvasRenderingContext2D,
  data: TimelineData,
  layout: Layout,
  colours: string[]
): void {
  const paths = colours.map(() => new Path2D())
  for (let g = 0; g < layout.glyphCount; g++) {
    const i = layout.glyphIndex[g]
    const mark = data.mark[i]
    const y = layout.glyphRow[g] * LANE_PX + LANE_PX / 2 + ((data.point[i] % 3) - 1) * 3
    shape(paths[mark] ?? paths[Mark.DataRetransmit], mark, layout.glyphX[g], y)
  }
  paths.forEach((path, mark) => {
    if (mark === Mark.SynRetransmit || mark === Mark.Fin || mark === Mark.Rst) {
      ctx.strokeStyle = colours[mark]
      ctx.lineWidth = 1.5
      ctx.stroke(path)
    } else {
      ctx.fillStyle = colours[mark]
      ctx.fill(path)
    }
  })
}

function shape(ctx: Path2D, mark: number, x: number, y: number): void {
  switch (mark) {
    case Mark.Syn:
    case Mark.SynRetransmit:
    case Mark.Request:
      // A triangle pointing forward: the opener's packet.
      ctx.moveTo(x - 3, y - 4)
      ctx.lineTo(x + 4, y)
      ctx.lineTo(x - 3, y + 4)
      ctx.closePath()
      return
    case Mark.SynAck:
    case Mark.Reply:
      ctx.moveTo(x + 3, y - 4)
      ctx.lineTo(x - 4, y)
      ctx.lineTo(x + 3, y + 4)
      ctx.closePath()
      return
    case Mark.Rst:
      ctx.moveTo(x - 4, y - 4)
      ctx.lineTo(x + 4, y + 4)
      ctx.moveTo(x + 4, y - 4)
      ctx.lineTo(x - 4, y + 4)
      return
    case Mark.Fin:
      ctx.moveTo(x, y - 5)
      ctx.lineTo(x, y + 5)
      return
    case Mark.IcmpError:
    case Mark.FragNeeded:
      ctx.moveTo(x, y - 5)
      ctx.lineTo(x + 5, y)
      ctx.lineTo(x, y + 5)
      ctx.lineTo(x - 5, y)
      ctx.closePath()
      return
    case Mark.LoggedDrop:
      ctx.moveTo(x + 4, y)
      ctx.arc(x, y, 4, 0, Math.PI * 2)
      return
    default:
      ctx.rect(x - 1.5, y - 1.5, 3, 3)
  }
}

function clip(ctx: CanvasRenderingContext2D, text: string, widthPx: number): string {
  if (ctx.measureText(text).width <= widthPx) return text
  let lo = 0
  let hi = text.length
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if (ctx.measureText(text.slice(0, mid) + '…').width <= widthPx) lo = mid
    else hi = mid - 1
  }
  return text.slice(0, lo) + '…'
}
