import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import { writeFile } from 'node:fs/promises'
import type { Api } from '../shared/api'
import type { Result } from '../shared/result'
import type { Handlers } from './handlers'
import { REPORT_FILTERS, reportFor } from './report-format'
import { isTrustedSender } from './sender-check'

/** Registers one IPC handler per Api call; each checks its sender, then hands over to `handlers`. */
export function registerIpc(handlers: Handlers, onOpened: (paths: string[]) => void): void {
  handle('startup', async () => ({ ...handlers.startup(), canPick: true }))
  handle('pickFiles', async (event) => pick(event, ['openFile', 'multiSelections']))
  handle('pickFolder', async (event) => pick(event, ['openDirectory']))
  handle('analyse', async (event, paths, options) => {
    const result = await handlers.analyse(paths, options, (p) => event.sender.send('progress', p))
    if (result.ok) onOpened(paths as string[])
    return result
  })
  handle('cancel', async () => handlers.cancel())
  handle('readText', (_event, path) => handlers.readText(path))
  handle('packet', (_event, path, frame) => handlers.packet(path, frame))
  handle('exportReport', async (event) => exportReport(event, handlers))
}

type Invoked = Exclude<keyof Api, 'onProgress' | 'onOpenPaths' | 'onCommand' | 'pathOf'>
type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>

function handle(name: Invoked, fn: Handler): void {
  ipcMain.handle(name, (event, ...args) => {
    // Only our own window's page may call: a frame or view from elsewhere is refused.
    if (!isTrustedSender(event, (sender) => BrowserWindow.fromWebContents(sender as WebContents)))
      throw new Error(`untrusted sender: ${name}`)
    return fn(event, ...args)
  })
}

async function pick(
  event: IpcMainInvokeEvent,
  properties: ('openFile' | 'openDirectory' | 'multiSelections')[]
): Promise<string[]> {
  const win = BrowserWindow.fromWebContents(event.sender)
  if (!win) return []
  const picked = await dialog.showOpenDialog(win, { properties })
  return picked.canceled ? [] : picked.filePaths
}

async function exportReport(
  event: IpcMainInvokeEvent,
  handlers: Handlers
): Promise<Result<string>> {
  const incident = handlers.loaded()
  const win = BrowserWindow.fromWebContents(event.sender)
  if (!incident || !win) return { ok: false, error: { message: 'no incident is loaded' } }
  const saved = await dialog.showSaveDialog(win, {
    defaultPath: 'incident.html',
    filters: REPORT_FILTERS
  })
  if (saved.canceled || !saved.filePath) return { ok: false, error: { message: 'not saved' } }
  const path = saved.filePath
  try {
    await writeFile(path, reportFor(path, incident))
    return { ok: true, value: path }
  } catch (e) {
    return { ok: false, error: { message: `${path}: ${(e as Error).message}`, file: path } }
  }
}
