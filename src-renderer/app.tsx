import { useEffect } from 'react'
import { onKey } from './keyboard'
import { baseName } from './model/frame-ref'
import { DetailPane } from './panels/detail-pane'
import { FileList } from './panels/file-list'
import { FindingsList } from './panels/findings-list'
import { FlowsTable } from './panels/flows-table'
import { PacketTree } from './panels/packet-tree'
import { RulesetView } from './panels/ruleset-view'
import { SummaryPanel } from './panels/summary-panel'
import { cancelAnalysis, openPaths, openStartup, pickAndOpen } from './store/actions'
import { appStore, useApp, type LowerTab } from './store/app-store'
import { Timeline } from './timeline/timeline'
import { timelineControls } from './timeline/timeline-controls'

/** The window: summary, findings and files on the left; timeline over flows, ruleset and packet; the selection's detail on the right. */
export function App() {
  const busy = useApp((s) => s.busy)
  const error = useApp((s) => s.error)
  const note = useApp((s) => s.note)
  const theme = useApp((s) => s.theme)
  const mode = useApp((s) => s.laneMode)
  const tab = useApp((s) => s.tab)
  const loaded = useApp((s) => s.incident !== null)
  const canPick = useApp((s) => s.canPick)
  useEffect(() => {
    const offProgress = window.api.onProgress((p) => appStore.getState().setProgress(p))
    const offOpen = window.api.onOpenPaths((paths) => void openPaths(paths))
    const offCommand = window.api.onCommand((c) => {
      if (c === 'zoom-in') timelineControls.zoomBy(2)
      else if (c === 'zoom-out') timelineControls.zoomBy(0.5)
      else if (c === 'zoom-reset') timelineControls.reset()
      else if (c === 'theme-light' || c === 'theme-dark')
        appStore.getState().setTheme(c === 'theme-dark' ? 'dark' : 'light')
      else if (c === 'export') void window.api.exportReport()
    })
    window.addEventListener('keydown', onKey)
    void openStartup()
    return () => {
      offProgress()
      offOpen()
      offCommand()
      window.removeEventListener('keydown', onKey)
    }
  }, [])
  const onDrop = (e: React.DragEvent) => {
    e.preventDefault()
    const paths = [...e.dataTransfer.files].map((f) => window.api.pathOf(f)).filter((p) => p !== '')
    if (paths.length > 0) void openPaths(paths)
    else if (e.dataTransfer.files.length > 0)
      appStore
        .getState()
        .setError(
          'Dropped files cannot be opened here: start verdict serve with them, or use the desktop app.'
        )
  }
  const s = appStore.getState()
  return (
    <div className="app" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <header>
        <strong className="brand">Verdict</strong>
        {canPick && (
          <>
            <button onClick={() => void pickAndOpen(false)}>Open files…</button>
            <button onClick={() => void pickAndOpen(true)}>Open folder…</button>
          </>
        )}
        {busy && (
          <button className="cancel" onClick={() => void cancelAnalysis()}>
            Cancel
          </button>
        )}
        <span className="spacer" />
        {error && (
          <span className="error" role="alert">
            {error}
          </span>
        )}
        {note && <span className="note">{note}</span>}
        <label className="switch">
          Lanes{' '}
          <select
            aria-label="Lanes"
            value={mode}
            onChange={(e) => s.setLaneMode(e.target.value as typeof mode)}
          >
            <option value="conversation">per conversation</option>
            <option value="host-pair">per host pair</option>
          </select>
        </label>
        <button aria-label="Theme" onClick={() => s.setTheme(theme === 'dark' ? 'light' : 'dark')}>
          {theme === 'dark' ? 'Light' : 'Dark'}
        </button>
      </header>
      <div className="columns">
        <nav className="left">
          <SummaryPanel />
          <FindingsList />
          <FileList />
        </nav>
        <main className="centre">
          {loaded ? <Timeline /> : <Empty busy={busy} canPick={canPick} />}
          <div className="lower">
            <div className="tabs" role="tablist">
              {(['flows', 'ruleset', 'packet'] as LowerTab[]).map((t) => (
                <button
                  key={t}
                  role="tab"
                  aria-selected={tab === t}
                  className={tab === t ? 'on' : ''}
                  onClick={() => s.setTab(t)}
                >
                  {t === 'flows' ? 'Flows' : t === 'ruleset' ? 'Ruleset' : 'Packet'}
                </button>
              ))}
            </div>
            <div className="tab-body">
              {tab === 'flows' && <FlowsTable />}
              {tab === 'ruleset' && <RulesetView />}
              {tab === 'packet' && <PacketTree />}
            </div>
          </div>
        </main>
        <DetailPane />
      </div>
    </div>
  )
}

function Empty({ busy, canPick }: { busy: boolean; canPick: boolean }) {
  const progress = Object.values(useApp((s) => s.progress))
  return (
    <div className="timeline empty-state">
      {busy ? (
        <p>Reading {progress.map((p) => baseName(p.path)).join(', ') || 'the files'}…</p>
      ) : canPick ? (
        <p>
          Open captures, drop logs and ruleset snapshots, or a folder holding one subfolder per host
          (File ▸ Open, or drop them on the window).
        </p>
      ) : (
        <p>
          Browser mode shows what verdict serve was started with: run{' '}
          <code>verdict serve PATH...</code> with captures, logs, snapshots or an incident folder.
        </p>
      )}
    </div>
  )
}
