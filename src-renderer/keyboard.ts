import { sortFindings } from './model/summary'
import { appStore } from './store/app-store'
import { timelineControls } from './timeline/timeline-controls'

/** Handles the app's keys: ↑/↓ through findings, / to filter, +/- to zoom, 0 whole incident, Esc to clear. */
export function onKey(e: KeyboardEvent): void {
  const target = e.target as HTMLElement | null
  const typing = target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)
  if (e.key === 'Escape') {
    if (typing) target.blur()
    appStore.getState().clear()
    return
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return
  const s = appStore.getState()
  if (e.key === '/') {
    e.preventDefault()
    document.getElementById('flow-filter-text')?.focus()
  } else if (e.key === '+' || e.key === '=') timelineControls.zoomBy(2)
  else if (e.key === '-' || e.key === '_') timelineControls.zoomBy(0.5)
  else if (e.key === '0') timelineControls.reset()
  else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    const list = sortFindings(s.incident?.findings ?? [])
    if (list.length === 0) return
    e.preventDefault()
    const at = list.findIndex((f) => f.id === s.selectedFinding)
    const next =
      at < 0 ? 0 : Math.max(0, Math.min(list.length - 1, at + (e.key === 'ArrowDown' ? 1 : -1)))
    s.selectFinding(list[next].id)
  }
}
