import { contextBridge, ipcRenderer } from 'electron'
import type { Api, Progress } from '../shared/api'

// Sandboxed preload: only 'electron' at runtime, one named method per operation.
const api: Api = {
  pickFiles: () => ipcRenderer.invoke('pickFiles'),
  initialPaths: () => ipcRenderer.invoke('initialPaths'),
  readCaptures: (paths) => ipcRenderer.invoke('readCaptures', paths),
  onProgress: (listener) => {
    const handler = (_: unknown, p: Progress): void => listener(p)
    ipcRenderer.on('progress', handler)
    return () => ipcRenderer.off('progress', handler)
  }
}
contextBridge.exposeInMainWorld('api', api)
