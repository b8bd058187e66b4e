import { appStore } from './app-store'

/** Reads the given capture files through the Api and stores the overviews. */
export async function openPaths(paths: string[]): Promise<void> {
  if (paths.length === 0) return
  const s = appStore.getState()
  s.setLoading({ path: paths[0], bytesRead: 0, totalBytes: 0 })
  const result = await window.api.readCaptures(paths)
  if (result.ok) s.setLoaded(result.value)
  else s.setError(result.error.message)
}

/** Asks for files and opens them. */
export async function pickAndOpen(): Promise<void> {
  await openPaths(await window.api.pickFiles())
}
