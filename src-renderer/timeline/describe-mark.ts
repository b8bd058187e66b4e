import { formatUs } from './time-format'
import { MARK_NAMES, type TimelineData } from './timeline-data'

/**
 * Returns one line for the mark at index i: what it is, when, and every capture point
 * that saw the same packet (its sightings sit beside it in the lane's columns).
 */
export function describeMark(data: TimelineData, i: number): string {
  let from = i
  let to = i
  const same = (j: number): boolean =>
    data.timeUs[j] === data.timeUs[i] &&
    data.mark[j] === data.mark[i] &&
    data.flow[j] === data.flow[i]
  while (from > 0 && same(from - 1)) from--
  while (to + 1 < data.timeUs.length && same(to + 1)) to++
  const seen: string[] = []
  for (let j = from; j <= to; j++) {
    const frame = data.frames.get(j)?.split(':').pop()
    const point = data.points[data.point[j]] ?? '?'
    seen.push(frame ? `${point} (${frame})` : point)
  }
  return `${MARK_NAMES[data.mark[i]]} · ${formatUs(data.timeUs[i])} · seen at ${[...new Set(seen)].join(', ')}`
}
