import { app, dialog, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron'
import type { MenuCommand } from '../shared/api'

/** Returns the native menu: File (open, recent, export, quit), View (zoom, theme), Help. */
export function buildMenu(win: BrowserWindow, recent: string[][]): Menu {
  const open = (paths: string[]): void => win.webContents.send('open-paths', paths)
  const command = (c: MenuCommand) => () => win.webContents.send('command', c)
  const pick = (properties: ('openFile' | 'openDirectory' | 'multiSelections')[]) => async () => {
    const picked = await dialog.showOpenDialog(win, { properties })
    if (!picked.canceled) open(picked.filePaths)
  }
  const recentItems: MenuItemConstructorOptions[] =
    recent.length === 0
      ? [{ label: 'Nothing yet', enabled: false }]
      : recent.map((paths) => ({ label: paths.join(', '), click: () => open(paths) }))
  return Menu.buildFromTemplate([
    {
      label: 'File',
      submenu: [
        {
          label: 'Open files…',
          accelerator: 'CmdOrCtrl+O',
          click: pick(['openFile', 'multiSelections'])
        },
        { label: 'Open folder…', accelerator: 'CmdOrCtrl+Shift+O', click: pick(['openDirectory']) },
        { label: 'Recent', submenu: recentItems },
        { type: 'separator' },
        {
          label: 'Export report…',
          accelerator: 'CmdOrCtrl+E',
          click: () => win.webContents.send('command', 'export')
        },
        { type: 'separator' },
        { role: 'quit' }
      ]
    },
    {
      label: 'View',
      submenu: [
        { label: 'Zoom timeline in', accelerator: 'CmdOrCtrl+=', click: command('zoom-in') },
        { label: 'Zoom timeline out', accelerator: 'CmdOrCtrl+-', click: command('zoom-out') },
        { label: 'Whole incident', accelerator: 'CmdOrCtrl+0', click: command('zoom-reset') },
        { type: 'separator' },
        { label: 'Light theme', click: command('theme-light') },
        { label: 'Dark theme', click: command('theme-dark') },
        { type: 'separator' },
        { role: 'zoomIn', label: 'Larger text' },
        { role: 'zoomOut', label: 'Smaller text' },
        { role: 'resetZoom', label: 'Text size reset' }
      ]
    },
    {
      label: 'Help',
      submenu: [
        {
          label: 'About Verdict',
          click: () =>
            void dialog.showMessageBox(win, {
              type: 'info',
              title: 'About Verdict',
              message: `Verdict ${app.getVersion()}`,
              detail:
                'Which connections failed, and which firewall rule or conntrack condition made each one fail.'
            })
        }
      ]
    }
  ])
}
