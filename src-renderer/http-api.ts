import type { AnalyseOptions, Api, Progress } from '@shared/api'
import type { Incident } from '@shared/incident'
import type { Result } from '@shared/result'

/**
 * The Api over HTTP, for browser mode (`verdict serve`): the same calls the
 * Electron preload exposes, answered by the local server that served this page.
 */
export function createHttpApi(): Api {
  const listeners = new Set<(p: Progress) => void>()
  const call = async <T>(name: string, args: unknown[] = []): Promise<T> => {
    const res = await fetch(`/api/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(args)
    })
    return (await res.json()) as T
  }
  return {
    startup: () => call('startup'),
    pickFiles: () => call('pickFiles'),
    pickFolder: () => call('pickFolder'),
    analyse: (paths, options) => analyseStreamed(paths, options, listeners),
    cancel: () => call('cancel'),
    readText: (path) => call('readText', [path]),
    packet: (path, frame) => call('packet', [path, frame]),
    exportReport: () => call('exportReport'),
    onProgress: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onOpenPaths: () => () => {},
    onCommand: () => () => {},
    pathOf: () => ''
  }
}

/** Reads the server's JSON lines: progress reports as they come, then the result. */
async function analyseStreamed(
  paths: string[],
  options: AnalyseOptions | undefined,
  listeners: Set<(p: Progress) => void>
): Promise<Result<Incident>> {
  const res = await fetch('/api/analyse', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options ? [paths, options] : [paths])
  })
  if (!res.body) return { ok: false, error: { message: `analyse: HTTP ${res.status}` } }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += value
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as {
        progress?: Progress
        result?: Result<Incident>
      }
      buffered = buffered.slice(nl + 1)
      if (line.progress) for (const l of listeners) l(line.progress)
      if (line.result) return line.result
    }
  }
  return {
    ok: false,
    error: { message: 'analyse: the server closed the connection without a result' }
  }
}
