import { existsSync } from 'node:fs'
import {
  analyseOptionsProblem,
  isFrame,
  isPath,
  isPathList,
  type AnalyseOptions,
  type PacketDetail,
  type Progress,
  type Startup
} from '../shared/api'
import type { Incident } from '../shared/incident'
import type { Result } from '../shared/result'
import { readInputText } from '../worker/read-input-text'
import { readPacket } from '../worker/read-packet'

/** Runs one analysis (in a worker thread for the app, in-process for browser mode). */
export type RunAnalysis = (
  paths: string[],
  onProgress: (p: Progress) => void,
  signal: AbortSignal,
  options: AnalyseOptions
) => Promise<Result<Incident>>

/** What the handlers need from their transport. */
export interface HandlerDeps {
  run: RunAnalysis
  /** Paths given at start-up (the command line). */
  initialPaths: string[]
  /** The bundled sample incident's folder. */
  sampleDir: string
  /** Which paths the page may ask to analyse (browser mode: only those it was started with). */
  mayAnalyse?: (path: string) => boolean
}

/** The Api's calls as plain functions of untrusted arguments, shared by the IPC and HTTP transports. */
export interface Handlers {
  startup(): Startup
  analyse(
    paths: unknown,
    options: unknown,
    onProgress: (p: Progress) => void
  ): Promise<Result<Incident>>
  cancel(): void
  readText(path: unknown): Promise<Result<string>>
  packet(path: unknown, frame: unknown): Promise<Result<PacketDetail>>
  /** The incident loaded last, if any. */
  loaded(): Incident | undefined
}

/** Returns the handlers; each validates every argument and answers with a Result, never a throw. */
export function createHandlers(deps: HandlerDeps): Handlers {
  let incident: Incident | undefined
  let running: AbortController | undefined
  const inputOf = (path: string) => incident?.inputs.find((i) => i.path === path)

  return {
    startup() {
      if (deps.initialPaths.length > 0) return { paths: deps.initialPaths, sample: false }
      if (existsSync(deps.sampleDir)) return { paths: [deps.sampleDir], sample: true }
      return {
        paths: [],
        sample: false,
        note: `The sample incident is not here (${deps.sampleDir}): open files or a folder.`
      }
    },
    async analyse(paths, options, onProgress) {
      if (!isPathList(paths) || paths.length === 0)
        return fail('analyse takes a non-empty list of file or folder paths')
      const problem = analyseOptionsProblem(options)
      if (problem) return fail(problem)
      const whatIf = (options as AnalyseOptions | null | undefined)?.whatIf
      const refused = deps.mayAnalyse ? paths.filter((p) => !deps.mayAnalyse!(p)) : []
      if (refused.length > 0)
        return fail(`not one of the paths this session may open: ${refused[0]}`)
      running?.abort()
      const controller = new AbortController()
      running = controller
      // Only what was checked goes on: a copy of the changes, never the caller's object.
      const result = await deps.run(
        paths,
        onProgress,
        controller.signal,
        whatIf ? { whatIf: [...whatIf] } : {}
      )
      if (running === controller) running = undefined
      if (result.ok) incident = result.value
      return result
    },
    cancel() {
      running?.abort()
    },
    async readText(path) {
      if (!isPath(path)) return fail('readText takes one file path')
      const input = inputOf(path)
      if (!input || input.kind === 'capture' || input.kind === 'unknown')
        return fail(`${path}: not a text input of the loaded incident`)
      return readInputText(path)
    },
    async packet(path, frame) {
      if (!isPath(path) || !isFrame(frame))
        return fail('packet takes a capture path and a frame number')
      if (inputOf(path)?.kind !== 'capture')
        return fail(`${path}: not a capture of the loaded incident`)
      return readPacket(path, frame)
    },
    loaded: () => incident
  }
}

function fail<T>(message: string): Result<T> {
  return { ok: false, error: { message } }
}
