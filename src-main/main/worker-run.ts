import { Worker } from 'node:worker_threads'
import type { Progress } from '../shared/api'
import type { Incident } from '../shared/incident'
import type { Result } from '../shared/result'
import type { RunAnalysis } from './handlers'

/**
 * Returns a RunAnalysis that runs each analysis in its own worker thread (the built
 * analysis-worker at `workerPath`); aborting the signal ends the thread at once.
 */
export function createWorkerRunner(workerPath: string): RunAnalysis {
  return (paths, onProgress, signal, options) =>
    new Promise((resolve) => {
      const worker = new Worker(workerPath, { workerData: { paths, whatIf: options?.whatIf } })
      const finish = (result: Result<Incident>): void => {
        signal.removeEventListener('abort', abort)
        resolve(result)
        void worker.terminate()
      }
      const abort = (): void => finish({ ok: false, error: { message: 'analysis cancelled' } })
      signal.addEventListener('abort', abort)
      worker.on('message', (m: { type: string; p?: Progress; result?: Result<Incident> }) => {
        if (m.type === 'progress' && m.p) onProgress(m.p)
        else if (m.type === 'done' && m.result) finish(m.result)
      })
      worker.on('error', (e) =>
        finish({ ok: false, error: { message: `internal error: ${e.message}` } })
      )
    })
}
