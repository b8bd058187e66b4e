import { useLayoutEffect, useRef, useState, type ReactNode } from 'react'
import { windowRows } from '../model/window-rows'

/** Props of VirtualList. */
export interface VirtualListProps {
  count: number
  rowPx: number
  /** Renders row i; only the rows in view (and a few more) are rendered. */
  row: (i: number) => ReactNode
  /** A row to bring into view when it changes. */
  scrollTo?: number
  className?: string
}

/** A scrolled list that renders only the rows in view, so a million rows cost what fifty do. */
export function VirtualList({ count, rowPx, row, scrollTo, className }: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  const [height, setHeight] = useState(400)
  useLayoutEffect(() => {
    const el = ref.current
    if (!el) return
    const observer = new ResizeObserver(() => setHeight(el.clientHeight))
    observer.observe(el)
    return () => observer.disconnect()
  }, [])
  useLayoutEffect(() => {
    const el = ref.current
    if (!el || scrollTo === undefined || scrollTo < 0) return
    const top = scrollTo * rowPx
    if (top < el.scrollTop || top + rowPx > el.scrollTop + el.clientHeight)
      el.scrollTop = Math.max(0, top - el.clientHeight / 2)
  }, [scrollTo, rowPx])
  const { first, last } = windowRows(scrollTop, height, rowPx, count)
  const rows: ReactNode[] = []
  for (let i = first; i < last; i++) rows.push(row(i))
  return (
    <div
      ref={ref}
      className={`virtual-list ${className ?? ''}`}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <div style={{ height: count * rowPx, position: 'relative' }}>
        <div style={{ position: 'absolute', top: first * rowPx, left: 0, right: 0 }}>{rows}</div>
      </div>
    </div>
  )
}
