import { parentPort, workerData } from 'node:worker_threads'
import { isPathList } from '../shared/api'
import { readCaptures } from './read-captures'

// The engine runs here, off the main process's event loop, so the window never waits on it.
const paths: unknown = workerData
if (!parentPort) throw new Error('analysis-worker must run as a worker thread')
const port = parentPort
if (!isPathList(paths)) {
  port.postMessage({ type: 'done', result: { ok: false, error: { message: 'invalid file list' } } })
} else {
  readCaptures(paths, (p) => port.postMessage({ type: 'progress', p })).then(
    (value) => port.postMessage({ type: 'done', result: { ok: true, value } }),
    (e: unknown) =>
      port.postMessage({
        type: 'done',
        result: {
          ok: false,
          error: { message: `internal error: ${e instanceof Error ? e.message : String(e)}` }
        }
      })
  )
}
