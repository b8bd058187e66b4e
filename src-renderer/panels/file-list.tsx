import { useApp } from '../store/app-store'

/** The loaded files with their detected format, packet count and problems. */
export function FileList() {
  const files = useApp((s) => s.files)
  const selected = useApp((s) => s.selectedFile)
  const select = useApp((s) => s.selectFile)
  return (
    <ul className="file-list">
      {files.map((f, i) => (
        <li key={f.path} className={i === selected ? 'selected' : ''} onClick={() => select(i)}>
          <div className="name">{f.path.split(/[\\/]/).pop()}</div>
          {f.error ? (
            <div className="error">{f.error.message}</div>
          ) : (
            <div className="meta">
              {f.summary?.format}
              {f.summary?.gzip ? '.gz' : ''} · {f.summary?.packets.toLocaleString()} packets
              {f.summary && f.summary.problems.length > 0
                ? ` · ${f.summary.problems.length} problem(s)`
                : ''}
            </div>
          )}
          {f.summary?.problems.map((p, j) => (
            <div key={j} className="problem">
              {p.at}: {p.message}
            </div>
          ))}
        </li>
      ))}
    </ul>
  )
}
