import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron'
import { Worker } from 'node:worker_threads'
import { isPathList, type Api } from '../shared/api'
import type { Result } from '../shared/result'
import workerPath from '../worker/analysis-worker?modulePath'

/** Registers one handler per Api method; each checks its sender and validates every argument. */
export function registerIpc(initialPaths: () => string[]): void {
  handle('pickFiles', async (event) => {
    const win = BrowserWindow.fromWebContents(event.sender)
    if (!win) return []
    const picked = await dialog.showOpenDialog(win, { properties: ['openFile', 'multiSelections'] })
    return picked.canceled ? [] : picked.filePaths
  })
  handle('initialPaths', async () => initialPaths())
  handle('readCaptures', async (event, paths: unknown) => {
    if (!isPathList(paths))
      return { ok: false, error: { message: 'readCaptures takes a list of file paths' } }
    return runWorker(paths, (p) => event.sender.send('progress', p))
  })
}

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>

function handle(name: Exclude<keyof Api, 'onProgress'>, fn: Handler): void {
  ipcMain.handle(name, (event, ...args) => {
    if (!BrowserWindow.fromWebContents(event.sender)) throw new Error(`untrusted sender: ${name}`)
    return fn(event, ...args)
  })
}

function runWorker(paths: string[], onProgress: (p: unknown) => void): Promise<Result<unknown>> {
  return new Promise((resolve) => {
    const worker = new Worker(workerPath, { workerData: paths })
    worker.on('message', (m: { type: string; p?: unknown; result?: Result<unknown> }) => {
      if (m.type === 'progress') onProgress(m.p)
      else if (m.type === 'done' && m.result) {
        resolve(m.result)
        void worker.terminate()
      }
    })
    worker.on('error', (e) =>
      resolve({ ok: false, error: { message: `internal error: ${e.message}` } })
    )
  })
}
