import type { Incident } from '@shared/incident'
import { resolveFrame } from '../model/frame-ref'
import { appStore, type WhatIfRun } from './app-store'

/** The analysis whose answer counts: starting another supersedes it (main cancels it). */
let latest = 0

/** Analyses files and folders through the Api and stores the incident; progress arrives as it comes. */
export async function openPaths(paths: string[]): Promise<void> {
  if (paths.length === 0) return
  const run = ++latest
  const s = appStore.getState()
  s.setBusy(true)
  s.setNote(null)
  s.setWhatIf(null)
  const result = await window.api.analyse(paths)
  if (run !== latest) return
  if (result.ok) appStore.getState().setIncident(result.value, paths)
  else appStore.getState().setError(result.error.message)
}

/**
 * Analyses the loaded paths again with changes tried on copies of the snapshots; the incident
 * stays shown (with progress) while it runs, and the answer goes to the what-if panel.
 */
export async function tryChanges(
  changes: string[],
  from: Pick<WhatIfRun, 'finding' | 'skipped'> = { skipped: [] }
): Promise<void> {
  const s = appStore.getState()
  if (!s.incident || s.paths.length === 0 || changes.length === 0) return
  const run = ++latest
  const tried: WhatIfRun = { ...from, changes, running: true }
  s.setBusy(true)
  s.setWhatIf(tried)
  const result = await window.api.analyse(s.paths, { whatIf: changes })
  if (run !== latest) return
  const now = appStore.getState()
  now.setBusy(false)
  now.setWhatIf(
    result.ok
      ? { ...tried, running: false, results: result.value.whatIf ?? [] }
      : { ...tried, running: false, error: result.error.message }
  )
}

/** Opens what the app was started with, or the sample incident, or says why there is nothing. */
export async function openStartup(): Promise<void> {
  const startup = await window.api.startup()
  if (startup.note) appStore.getState().setNote(startup.note)
  appStore.getState().setCanPick(startup.canPick !== false)
  await openPaths(startup.paths)
}

/** Asks for files (or a folder) and opens them. */
export async function pickAndOpen(folder = false): Promise<void> {
  await openPaths(await (folder ? window.api.pickFolder() : window.api.pickFiles()))
}

/** Stops the analysis under way. */
export async function cancelAnalysis(): Promise<void> {
  await window.api.cancel()
}

/** Opens a packet ("point:file#frame") in the packet detail tree. */
export async function openPacket(ref: string): Promise<void> {
  const s = appStore.getState()
  const where = s.incident ? resolveFrame(s.incident, ref) : undefined
  if (!where) return s.setPacket(null, `${ref}: no loaded capture holds this packet`)
  const result = await window.api.packet(where.path, where.frame)
  if (result.ok) appStore.getState().setPacket(result.value)
  else appStore.getState().setPacket(null, result.error.message)
}

/** Opens a ruleset or log in the ruleset view at a line. */
export async function openText(file: string, line?: number): Promise<void> {
  const s = appStore.getState()
  const path = inputPath(s.incident, file)
  if (s.ruleset?.path === path && s.ruleset.text !== null)
    return s.setRuleset({ ...s.ruleset, line })
  s.setRuleset({ path, text: null, line })
  const result = await window.api.readText(path)
  appStore
    .getState()
    .setRuleset(
      result.ok
        ? { path, text: result.value, line }
        : { path, text: null, line, error: result.error.message }
    )
}

/** Returns the input path a finding names (findings may name a file by its path or its base name). */
function inputPath(incident: Incident | null, file: string): string {
  const inputs = incident?.inputs ?? []
  return (
    inputs.find((i) => i.path === file)?.path ??
    inputs.find((i) => i.path.endsWith('/' + file) || i.path.endsWith('\\' + file))?.path ??
    file
  )
}
