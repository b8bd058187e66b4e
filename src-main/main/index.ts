import { app, Menu, session } from 'electron'
import { join } from 'node:path'
import { createHandlers } from './handlers'
import { registerIpc } from './ipc'
import { resolveArg } from './resolve-arg'
import { buildMenu } from './menu'
import { addRecent, readRecent } from './recent'
import { createWorkerRunner } from './worker-run'
import workerPath from '../worker/analysis-worker?modulePath'
import { createWindow } from './window'

// Paths given on the command line (`npm start -- FILES...`) open at start-up.
const initialPaths = process.argv
  .slice(app.isPackaged ? 1 : 2)
  .filter((a) => !a.startsWith('-'))
  .map((a) => resolveArg(a))

app.whenReady().then(() => {
  // No network at all: only the app's own files and devtools are ever loaded.
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const allowed = /^(file|devtools|blob|data):/.test(details.url) || isDevServer(details.url)
    callback({ cancel: !allowed })
  })
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) =>
    callback(false)
  )
  const recentFile = join(app.getPath('userData'), 'recent.json')
  const handlers = createHandlers({
    run: createWorkerRunner(workerPath),
    initialPaths,
    sampleDir: app.isPackaged
      ? join(process.resourcesPath, 'resources/sample-incident')
      : join(app.getAppPath(), 'resources/sample-incident')
  })
  const win = createWindow(join(import.meta.dirname, '../preload/index.cjs'))
  Menu.setApplicationMenu(buildMenu(win, readRecent(recentFile)))
  registerIpc(handlers, (paths) => {
    Menu.setApplicationMenu(buildMenu(win, addRecent(recentFile, paths)))
  })
})

app.on('window-all-closed', () => app.quit())

// Refuse navigation and new windows from any web contents.
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault())
  contents.on('will-attach-webview', (event) => event.preventDefault())
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
})

function isDevServer(url: string): boolean {
  const dev = process.env.ELECTRON_RENDERER_URL
  return dev !== undefined && !app.isPackaged && url.startsWith(dev)
}
