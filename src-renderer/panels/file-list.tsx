import { baseName } from '../model/frame-ref'
import { useApp } from '../store/app-store'

/** The loaded files: detected kind and format, records, host, progress while reading, and every problem beside its file. */
export function FileList() {
  const inputs = useApp((s) => s.incident?.inputs)
  const progress = useApp((s) => s.progress)
  const busy = useApp((s) => s.busy)
  const reading = Object.values(progress)
  return (
    <section className="file-list" aria-label="Files">
      <h2>Files</h2>
      {busy && (
        <ul className="progress-list">
          {reading.length === 0 && <li className="muted">starting…</li>}
          {reading.map((p) => {
            const pct = p.totalBytes ? Math.min(100, (100 * p.bytesRead) / p.totalBytes) : 0
            return (
              <li key={p.path} title={p.path}>
                <span className="name">{baseName(p.path)}</span>
                <progress max={100} value={pct} aria-label={`reading ${baseName(p.path)}`} />
              </li>
            )
          })}
        </ul>
      )}
      <ul>
        {(inputs ?? []).map((i) => (
          <li key={i.path} title={i.path} className={i.errors.length > 0 ? 'has-error' : ''}>
            <div className="name">{baseName(i.path)}</div>
            <div className="meta">
              {i.kind} · {i.format}
              {i.kind === 'capture' ? ` · ${i.records.toLocaleString()} packets` : ''}
              {i.kind !== 'capture' && i.records > 0
                ? ` · ${i.records.toLocaleString()} records`
                : ''}
              {i.host ? ` · host ${i.host}` : ''}
              {i.point && i.point !== i.host ? ` · point ${i.point}` : ''}
            </div>
            {i.errors.map((e, j) => (
              <div key={`e${j}`} className="error" role="alert">
                {e}
              </div>
            ))}
            {i.warnings.slice(0, 5).map((w, j) => (
              <div key={`w${j}`} className="warning">
                {w}
              </div>
            ))}
            {i.warnings.length > 5 && (
              <div className="warning">and {i.warnings.length - 5} more warnings</div>
            )}
          </li>
        ))}
      </ul>
    </section>
  )
}
