import { parentPort, workerData } from 'node:worker_threads'
import { analyseOptionsProblem, isPathList } from '../shared/api'
import { runAnalysis } from './run-analysis'
import { throttleProgress } from './throttle-progress'

// The engine runs here, off the main process's event loop, so the window never waits on it.
const { paths, whatIf } = (workerData ?? {}) as { paths?: unknown; whatIf?: unknown }
if (!parentPort) throw new Error('analysis-worker must run as a worker thread')
const port = parentPort
const done = (message: string) =>
  port.postMessage({ type: 'done', result: { ok: false, error: { message } } })
const problem = analyseOptionsProblem({ whatIf })
if (!isPathList(paths)) done('invalid file list')
else if (problem) done(problem)
else {
  void runAnalysis(paths, {
    onProgress: throttleProgress((p) => port.postMessage({ type: 'progress', p })),
    whatIf: whatIf as string[] | undefined
  }).then((result) => port.postMessage({ type: 'done', result }))
}
