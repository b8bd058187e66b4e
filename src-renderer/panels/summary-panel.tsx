import { useMemo } from 'react'
import { baseName } from '../model/frame-ref'
import { outcomeLabel, isFailed } from '../model/outcomes'
import { summarise } from '../model/summary'
import { appStore, useApp } from '../store/app-store'

/** Counts by outcome and by cause (each filters the flows table), and how each log's clock was aligned. */
export function SummaryPanel() {
  const incident = useApp((s) => s.incident)
  const filter = useApp((s) => s.filter)
  const summary = useMemo(() => (incident ? summarise(incident) : null), [incident])
  if (!summary) return null
  const set = appStore.getState().setFilter
  return (
    <section className="summary" aria-label="Summary">
      <h2>
        {summary.flows.toLocaleString()} conversations · {summary.failed.toLocaleString()} failed
        {summary.failed > 0 ? ` · ${summary.explained} explained` : ''}
      </h2>
      <ul className="counts outcomes">
        {summary.byOutcome.map((o) => (
          <li key={o.outcome} data-outcome={o.outcome}>
            <button
              className={`count ${isFailed(o.outcome) ? 'failed' : 'good'} ${filter.outcome === o.outcome ? 'on' : ''}`}
              onClick={() => set({ outcome: filter.outcome === o.outcome ? '' : o.outcome })}
            >
              <span className="n">{o.count.toLocaleString()}</span> {outcomeLabel(o.outcome)}
            </button>
          </li>
        ))}
      </ul>
      {summary.byCause.length > 0 && (
        <ul className="counts causes">
          {summary.byCause.map((c) => (
            <li key={c.kind} data-cause={c.kind}>
              <button
                className={`count cause ${filter.cause === c.kind ? 'on' : ''}`}
                onClick={() => set({ cause: filter.cause === c.kind ? '' : c.kind })}
              >
                <span className="n">{c.flows.toLocaleString()}</span> {c.kind}
                <span className="muted">
                  {' '}
                  ({c.findings} finding{c.findings === 1 ? '' : 's'})
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {incident && (incident.alignments ?? []).length > 0 && (
        <details className="clocks">
          <summary>Clocks ({incident.alignments!.length})</summary>
          {incident.alignments!.map((a) => {
            const host = incident.inputs.find((i) => i.path === a.file)?.host
            return (
              <div key={a.file} className="clock" title={a.file}>
                {host ? `${host}/` : ''}
                {baseName(a.file)}: {a.text}
              </div>
            )
          })}
        </details>
      )}
    </section>
  )
}
