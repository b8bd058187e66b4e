import { contextBridge, ipcRenderer, webUtils } from 'electron'
import type { Api, MenuCommand, Progress } from '../shared/api'

// Sandboxed preload: only 'electron' at runtime, one named method per operation.
function listen<T>(channel: string, listener: (value: T) => void): () => void {
  const handler = (_: unknown, value: T): void => listener(value)
  ipcRenderer.on(channel, handler)
  return () => ipcRenderer.off(channel, handler)
}

const api: Api = {
  startup: () => ipcRenderer.invoke('startup'),
  pickFiles: () => ipcRenderer.invoke('pickFiles'),
  pickFolder: () => ipcRenderer.invoke('pickFolder'),
  analyse: (paths, options) => ipcRenderer.invoke('analyse', paths, options),
  cancel: () => ipcRenderer.invoke('cancel'),
  readText: (path) => ipcRenderer.invoke('readText', path),
  packet: (path, frame) => ipcRenderer.invoke('packet', path, frame),
  exportReport: () => ipcRenderer.invoke('exportReport'),
  onProgress: (listener) => listen<Progress>('progress', listener),
  onOpenPaths: (listener) => listen<string[]>('open-paths', listener),
  onCommand: (listener) => listen<MenuCommand>('command', listener),
  pathOf: (file) => webUtils.getPathForFile(file)
}
contextBridge.exposeInMainWorld('api', api)
