import { parentPort, workerData } from 'node:worker_threads'
import { isPathList } from '../shared/api'
import { runAnalysis } from './run-analysis'
import { throttleProgress } from './throttle-progress'

// The engine runs here, off the main process's event loop, so the window never waits on it.
const paths: unknown = workerData
if (!parentPort) throw new Error('analysis-worker must run as a worker thread')
const port = parentPort
if (!isPathList(paths)) {
  port.postMessage({ type: 'done', result: { ok: false, error: { message: 'invalid file list' } } })
} else {
  void runAnalysis(paths, {
    onProgress: throttleProgress((p) => port.postMessage({ type: 'progress', p }))
  }).then((result) => port.postMessage({ type: 'done', result }))
}
