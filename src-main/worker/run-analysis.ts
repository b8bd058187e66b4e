import { readFile, stat } from 'node:fs/promises'
import { analyse, type AnalyseProgress } from '../engine/analyse'
import { collectInputs } from '../cli/collect-inputs'
import { INCIDENT_SCHEMA, type Incident, type InputInfo } from '../shared/incident'
import type { Result } from '../shared/result'

/** Options for runAnalysis: where progress goes, how to stop, and the changes to try. */
export interface RunOptions {
  onProgress?: (p: AnalyseProgress) => void
  signal?: AbortSignal
  /** What-if changes (`server: iptables -I INPUT 3 ...`), each tried on copies of the snapshots. */
  whatIf?: string[]
}

/**
 * Returns the Incident for files and folders (a folder is an incident: one
 * subfolder per host). A path that cannot be read is listed with its error
 * beside the others; a single saved Incident (verdict analyze's JSON) opens as it was saved.
 */
export async function runAnalysis(
  paths: string[],
  options: RunOptions = {}
): Promise<Result<Incident>> {
  try {
    if (paths.length === 1) {
      const saved = await readSavedIncident(paths[0])
      if (saved)
        return { ok: true, value: options.whatIf ? notTried(saved, options.whatIf) : saved }
    }
    const { files, bad } = collectInputs(paths)
    const { onProgress, signal, whatIf } = options
    const incident = await analyse(files, {
      onProgress,
      signal,
      ...(whatIf?.length ? { whatIf } : {})
    })
    if (options.signal?.aborted) return cancelled()
    const unreadable: InputInfo[] = bad.map((b) => ({
      path: b.path,
      kind: 'unknown',
      format: 'unknown',
      records: 0,
      warnings: [],
      errors: [b.message]
    }))
    return { ok: true, value: { ...incident, inputs: [...unreadable, ...incident.inputs] } }
  } catch (e) {
    if (options.signal?.aborted) return cancelled()
    return {
      ok: false,
      error: { message: `internal error: ${e instanceof Error ? e.message : String(e)}` }
    }
  }
}

/** Saved incidents larger than this are not opened whole. */
const MAX_SAVED_BYTES = 256 * 1024 * 1024

/** Returns the Incident a JSON file holds, or undefined when the file is something else. */
async function readSavedIncident(path: string): Promise<Incident | undefined> {
  try {
    const st = await stat(path)
    if (!st.isFile() || st.size > MAX_SAVED_BYTES) return undefined
    const head = (await readFile(path)).subarray(0, 4096).toString('utf8')
    // Recognised by content: a JSON object whose schema is the Incident's.
    if (!/^\s*\{/.test(head) || !head.includes(`"${INCIDENT_SCHEMA}"`)) return undefined
    const value: unknown = JSON.parse(await readFile(path, 'utf8'))
    return isIncident(value) ? value : undefined
  } catch {
    return undefined
  }
}

function isIncident(v: unknown): v is Incident {
  if (typeof v !== 'object' || v === null) return false
  const o = v as Record<string, unknown>
  return (
    o.schema === INCIDENT_SCHEMA &&
    Array.isArray(o.inputs) &&
    Array.isArray(o.flows) &&
    Array.isArray(o.findings)
  )
}

/** A saved incident keeps no snapshots to change: each change is answered with why it was not tried. */
function notTried(saved: Incident, whatIf: string[]): Incident {
  const problems = [
    'a saved incident holds no snapshots to change: open the captures, logs and snapshots it was made from'
  ]
  return {
    ...saved,
    whatIf: whatIf.map((change) => ({ change, resolves: [], changes: [], problems }))
  }
}

function cancelled(): Result<Incident> {
  return { ok: false, error: { message: 'analysis cancelled' } }
}
