import { useEffect } from 'react'
import { FileList } from './panels/file-list'
import { PacketTable } from './panels/packet-table'
import { openPaths, pickAndOpen } from './store/actions'
import { appStore, useApp } from './store/app-store'

/** The window: loaded captures on the left, packets on the right. */
export function App() {
  const loading = useApp((s) => s.loading)
  const error = useApp((s) => s.error)
  const count = useApp((s) => s.files.length)
  useEffect(() => {
    const off = window.api.onProgress((p) => appStore.getState().setLoading(p))
    void window.api.initialPaths().then(openPaths)
    return off
  }, [])
  return (
    <div className="app">
      <header>
        <strong>Verdict</strong>
        <button onClick={() => void pickAndOpen()}>Open captures…</button>
        {loading && (
          <span className="progress">
            reading {loading.path.split(/[\\/]/).pop()}
            {loading.totalBytes > 0
              ? ` ${Math.round((100 * loading.bytesRead) / loading.totalBytes)}%`
              : ''}
          </span>
        )}
        {error && <span className="error">{error}</span>}
      </header>
      {count === 0 ? (
        <p className="empty">
          Open pcap or pcapng captures (or their .gz) to see their packets decoded. Connection
          analysis, firewall rules and findings are not built yet.
        </p>
      ) : (
        <main>
          <FileList />
          <PacketTable />
        </main>
      )}
    </div>
  )
}
