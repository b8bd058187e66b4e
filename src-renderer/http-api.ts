import type { Api, Progress } from '@shared/api'

/**
 * The Api over HTTP, for browser mode (`verdict serve`): the same calls the
 * Electron preload exposes, answered by the local server that served this page.
 */
export function createHttpApi(): Api {
  const call = async <T>(name: string, args: unknown[] = []): Promise<T> => {
    const res = await fetch(`/api/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(args)
    })
    return (await res.json()) as T
  }
  return {
    pickFiles: () => call<string[]>('pickFiles'),
    initialPaths: () => call<string[]>('initialPaths'),
    readCaptures: (paths) => call('readCaptures', [paths]),
    onProgress: (_listener: (p: Progress) => void) => () => {}
  }
}
