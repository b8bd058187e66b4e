import type { Incident } from '../../shared/incident'
import { escapeXml } from './escape'
import {
  layoutTimeline,
  type GlyphKind,
  type TimelineLayout,
  type TimelineOptions
} from './timeline-layout'

/** Returns the incident's timeline as one standalone SVG document (no scripts, no external references). */
export function toTimelineSvg(incident: Incident, options: TimelineOptions = {}): string {
  return drawTimeline(layoutTimeline(incident, options))
}

/** Returns the SVG text of a laid-out timeline; every string in it is escaped. */
export function drawTimeline(t: TimelineLayout): string {
  const out: string[] = []
  const { leftPx, rightPx, topPx, bottomPx } = t.plot
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${t.widthPx}" height="${t.heightPx}" viewBox="0 0 ${t.widthPx} ${t.heightPx}" font-family="sans-serif" font-size="11" role="img" aria-label="Timeline of the failed conversations">`,
    `<rect width="${t.widthPx}" height="${t.heightPx}" fill="#ffffff"/>`
  )
  if (t.lanes.length === 0) {
    out.push(`<text x="16" y="28" fill="#333333">No failed conversations.</text>`, '</svg>')
    return out.join('\n') + '\n'
  }
  out.push(`<text x="${leftPx}" y="16" fill="#333333">${escapeXml(t.caption)}</text>`)
  for (const b of t.bands) {
    out.push(
      `<rect class="band" x="${b.x1Px}" y="${topPx}" width="${r(b.x2Px - b.x1Px)}" height="${bottomPx - topPx}" fill="#d62728" fill-opacity="0.15"><title>${escapeXml(b.label)}</title></rect>`
    )
  }
  out.push(`<g class="axis" fill="#555555">`)
  for (const tick of t.ticks) {
    out.push(
      `<line x1="${tick.xPx}" y1="${topPx - 8}" x2="${tick.xPx}" y2="${bottomPx}" stroke="#e0e0e0"/>`,
      `<text x="${tick.xPx}" y="${topPx - 12}" text-anchor="middle">${escapeXml(tick.label)}</text>`
    )
  }
  out.push(
    `<line x1="${leftPx}" y1="${topPx - 8}" x2="${rightPx}" y2="${topPx - 8}" stroke="#999999"/>`,
    '</g>'
  )
  for (const g of t.groups) {
    const more = g.shown < g.total ? `, ${g.shown} shown` : ''
    out.push(
      `<text class="group" x="16" y="${g.yPx}" font-weight="bold" fill="#222222">${escapeXml(`${g.outcome} (${g.total}${more})`)}</text>`
    )
  }
  for (const l of t.lanes) {
    out.push(
      `<text class="lane-label" x="${leftPx - 8}" y="${l.yPx + 4}" text-anchor="end" font-family="monospace" font-size="10" fill="#333333">${escapeXml(l.label)}</text>`,
      `<line class="lane" x1="${l.x1Px}" y1="${l.yPx}" x2="${Math.max(l.x2Px, l.x1Px + 1)}" y2="${l.yPx}" stroke="#bbbbbb" stroke-width="2"/>`
    )
  }
  // Drops first, so the packet they dropped is drawn over them.
  const ordered = [...t.glyphs].sort(
    (a, b) => Number(b.kind === 'drop') - Number(a.kind === 'drop')
  )
  for (const g of ordered) {
    out.push(
      `<path class="glyph ${g.origin} g-${g.kind}" data-flow="${escapeXml(g.flow)}" ${shape(g.kind, g.xPx, g.yPx)}><title>${escapeXml(g.note)}</title></path>`
    )
  }
  if (t.moreYPx !== undefined) {
    out.push(
      `<text class="more" x="16" y="${t.moreYPx}" fill="#555555">and ${t.hidden} more failed conversation(s) not drawn</text>`
    )
  }
  for (const item of t.legend) {
    const y = item.yPx
    out.push(
      item.kind === 'band'
        ? `<rect class="legend-glyph" x="${item.xPx}" y="${y - 6}" width="10" height="12" fill="#d62728" fill-opacity="0.15"/>`
        : `<path class="legend-glyph" ${shape(item.kind, item.xPx + 5, y)}/>`,
      `<text x="${item.xPx + 16}" y="${y + 4}" fill="#333333">${escapeXml(item.label)}</text>`
    )
  }
  out.push('</svg>')
  return out.join('\n') + '\n'
}

/** Returns the d, fill and stroke attributes of a glyph centred on (x, y). */
function shape(kind: GlyphKind, x: number, y: number): string {
  const p = (d: string, fill: string, stroke: string, width = 1): string =>
    `d="${d}" fill="${fill}" stroke="${stroke}" stroke-width="${width}"`
  const circle = `M${r(x - 4)} ${r(y)}a4 4 0 1 0 8 0a4 4 0 1 0 -8 0Z`
  const left = `M${r(x - 4)} ${r(y)}L${r(x + 4)} ${r(y - 4)}L${r(x + 4)} ${r(y + 4)}Z`
  const square = `M${r(x - 3.5)} ${r(y - 3.5)}h7v7h-7Z`
  const diamond = `M${r(x)} ${r(y - 5)}L${r(x + 5)} ${r(y)}L${r(x)} ${r(y + 5)}L${r(x - 5)} ${r(y)}Z`
  switch (kind) {
    case 'syn':
      return p(circle, '#1f77b4', '#1f77b4')
    case 'syn-retransmit':
      return p(circle, '#ffffff', '#1f77b4', 1.5)
    case 'syn-ack':
      return p(left, '#2ca02c', '#2ca02c')
    case 'syn-ack-retransmit':
      return p(left, '#ffffff', '#2ca02c', 1.5)
    case 'rst':
      return p(
        `M${r(x - 4)} ${r(y - 4)}L${r(x + 4)} ${r(y + 4)}M${r(x - 4)} ${r(y + 4)}L${r(x + 4)} ${r(y - 4)}`,
        'none',
        '#d62728',
        2
      )
    case 'fin':
      return p(square, '#7f7f7f', '#7f7f7f')
    case 'icmp':
      return p(diamond, '#ff7f0e', '#ff7f0e')
    case 'frag-needed':
      return p(`${diamond}M${r(x - 5)} ${r(y)}H${r(x + 5)}`, '#9467bd', '#3b1f5e', 1.5)
    case 'data-retransmit':
      return p(square, '#ffffff', '#bcbd22', 1.5)
    case 'request':
      return p(circle, '#17becf', '#17becf')
    case 'reply':
      return p(left, '#17becf', '#17becf')
    case 'drop':
      return p(
        `M${r(x - 4.5)} ${r(y - 8)}H${r(x + 4.5)}L${r(x)} ${r(y - 1)}Z`,
        '#8c1c13',
        '#8c1c13'
      )
  }
}

function r(v: number): number {
  return Math.round(v * 10) / 10
}
