import { useMemo } from 'react'
import { sortFindings } from '../model/summary'
import { appStore, useApp } from '../store/app-store'

/** The findings, most flows first; the selected one is marked, and arrows move through them. */
export function FindingsList() {
  const findings = useApp((s) => s.incident?.findings)
  const selected = useApp((s) => s.selectedFinding)
  const sorted = useMemo(() => sortFindings(findings ?? []), [findings])
  if (!findings) return null
  return (
    <section className="findings" aria-label="Findings">
      <h2>Findings</h2>
      {sorted.length === 0 ? (
        <p className="muted">
          No findings: the failed conversations have no cause the loaded evidence decides. Add
          ruleset snapshots and drop logs to explain them.
        </p>
      ) : (
        <ol>
          {sorted.map((f) => (
            <li
              key={f.id}
              className={f.id === selected ? 'selected' : ''}
              aria-selected={f.id === selected}
              onClick={() => appStore.getState().selectFinding(f.id)}
            >
              <div className="title">{f.title}</div>
              <div className="meta">
                {f.cause.kind} · {f.flows.length} flow{f.flows.length === 1 ? '' : 's'} · confidence{' '}
                {Math.round(f.confidence * 100)}%
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}
