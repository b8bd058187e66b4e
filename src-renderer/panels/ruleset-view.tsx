import { useMemo } from 'react'
import { counterOf, markedLines } from '../model/ruleset-marks'
import { useApp } from '../store/app-store'
import { VirtualList } from './virtual-list'

const ROW_PX = 18

/** A ruleset snapshot as written, with line numbers, counters, the lines findings rest on marked and the chosen line highlighted. */
export function RulesetView() {
  const open = useApp((s) => s.ruleset)
  const incident = useApp((s) => s.incident)
  const lines = useMemo(() => (open?.text ?? '').split('\n'), [open?.text])
  const marks = useMemo(
    () => (incident && open ? markedLines(incident, open.path) : new Map<number, string[]>()),
    [incident, open]
  )
  if (!open)
    return (
      <p className="muted pad">
        Open a rule from a finding (its cause, a simulation step or a counter) to see it in its
        snapshot.
      </p>
    )
  if (open.error) return <p className="error pad">{open.error}</p>
  if (open.text === null) return <p className="muted pad">reading {open.path}…</p>
  const row = (i: number) => {
    const n = i + 1
    const counter = counterOf(lines[i])
    const mark = marks.get(n)
    return (
      <div
        key={n}
        className={`rule-line ${mark ? 'marked' : ''} ${open.line === n ? 'current' : ''}`}
        data-line={n}
      >
        <span className="ln">{n}</span>
        <span className="mark" title={mark ? `findings ${mark.join(', ')}` : undefined}>
          {mark ? '●' : ''}
        </span>
        <code title={lines[i]}>{lines[i]}</code>
        {counter && (
          <span className="counter">
            {counter.packets.toLocaleString()} pkts / {counter.bytes.toLocaleString()} B
          </span>
        )}
      </div>
    )
  }
  return (
    <div className="ruleset-view" aria-label="Ruleset">
      <div className="path muted">{open.path}</div>
      <VirtualList
        count={lines.length}
        rowPx={ROW_PX}
        row={row}
        scrollTo={open.line ? open.line - 1 : undefined}
      />
    </div>
  )
}
