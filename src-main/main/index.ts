import { app, BrowserWindow, Menu, dialog, session } from 'electron'
import { join } from 'node:path'
import { registerIpc } from './ipc'
import { createWindow } from './window'

// Paths given on the command line (`npm start -- FILES...`) open at start-up.
const initialPaths = process.argv.slice(app.isPackaged ? 1 : 2).filter((a) => !a.startsWith('-'))

app.whenReady().then(() => {
  // No network at all: only the app's own files and devtools are ever loaded.
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const allowed = /^(file|devtools|blob|data):/.test(details.url) || isDevServer(details.url)
    callback({ cancel: !allowed })
  })
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) =>
    callback(false)
  )
  registerIpc(() => initialPaths)
  const win = createWindow(join(import.meta.dirname, '../preload/index.cjs'))
  Menu.setApplicationMenu(buildMenu(win))
})

app.on('window-all-closed', () => app.quit())

// Refuse navigation and new windows from any web contents.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
})

function isDevServer(url: string): boolean {
  const dev = process.env.ELECTRON_RENDERER_URL
  return dev !== undefined && !app.isPackaged && url.startsWith(dev)
}

function buildMenu(win: BrowserWindow): Menu {
  return Menu.buildFromTemplate([
    {
      label: 'File',
      submenu: [
        {
          label: 'Open files…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            const picked = await dialog.showOpenDialog(win, {
              properties: ['openFile', 'multiSelections']
            })
            if (!picked.canceled) win.webContents.send('open-paths', picked.filePaths)
          }
        },
        { type: 'separator' },
        { role: 'quit' }
      ]
    },
    { label: 'View', submenu: [{ role: 'zoomIn' }, { role: 'zoomOut' }, { role: 'resetZoom' }] }
  ])
}
