/** Returns the rows to render for a scrolled list of fixed-height rows: [first, last) with overscan. */
export function windowRows(
  scrollTopPx: number,
  viewportPx: number,
  rowPx: number,
  count: number,
  overscan = 8
): { first: number; last: number } {
  const first = Math.max(0, Math.floor(scrollTopPx / rowPx) - overscan)
  const last = Math.min(count, Math.ceil((scrollTopPx + viewportPx) / rowPx) + overscan)
  return { first, last: Math.max(first, last) }
}
