import { useMemo } from 'react'
import { OUTCOME_ORDER, outcomeLabel } from '../model/outcomes'
import { appStore, useApp } from '../store/app-store'

/** The flows table's filters: outcome, cause, host, port and free text. */
export function FlowFilterBar({ shown, total }: { shown: number; total: number }) {
  const filter = useApp((s) => s.filter)
  const findings = useApp((s) => s.incident?.findings)
  const causes = useMemo(
    () => [...new Set((findings ?? []).map((f) => f.cause.kind))].sort(),
    [findings]
  )
  const set = appStore.getState().setFilter
  return (
    <div className="filter-bar">
      <input
        id="flow-filter-text"
        type="search"
        placeholder="Filter (/)…"
        aria-label="Filter flows by text"
        value={filter.text}
        onChange={(e) => set({ text: e.target.value })}
      />
      <select
        aria-label="Outcome"
        value={filter.outcome}
        onChange={(e) => set({ outcome: e.target.value })}
      >
        <option value="">any outcome</option>
        {OUTCOME_ORDER.map((o) => (
          <option key={o} value={o}>
            {outcomeLabel(o)}
          </option>
        ))}
      </select>
      <select
        aria-label="Cause"
        value={filter.cause}
        onChange={(e) => set({ cause: e.target.value })}
      >
        <option value="">any cause</option>
        <option value="none">no finding</option>
        {causes.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
      <input
        aria-label="Host"
        placeholder="host"
        className="short"
        value={filter.host}
        onChange={(e) => set({ host: e.target.value })}
      />
      <input
        aria-label="Port"
        placeholder="port"
        className="tiny"
        inputMode="numeric"
        value={filter.port}
        onChange={(e) => set({ port: e.target.value.replace(/\D/g, '') })}
      />
      <span className="muted shown">
        {shown.toLocaleString()} of {total.toLocaleString()}
      </span>
    </div>
  )
}
