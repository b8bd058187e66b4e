import { BrowserWindow } from 'electron'
import { join } from 'node:path'

/** Returns the one application window, sandboxed, loading the renderer. */
export function createWindow(preload: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Verdict',
    webPreferences: {
      preload,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true
    }
  })
  const dev = process.env.ELECTRON_RENDERER_URL
  if (dev) void win.loadURL(dev)
  else void win.loadFile(join(import.meta.dirname, '../renderer/index.html'))
  return win
}
