import type { Incident } from './incident'
import type { Result } from './result'

/** Bytes read of the file being read. */
export interface Progress {
  path: string
  bytesRead: number
  totalBytes?: number
}

/** One line of a decoded packet's tree, like a row of Wireshark's packet details. */
export interface PacketNode {
  label: string
  children?: PacketNode[]
}

/** One packet of a capture, decoded into layers. */
export interface PacketDetail {
  path: string
  frame: number
  /** ISO-8601 UTC at the file's precision. */
  time: string
  /** The packet as one line, like tcpdump -nn. */
  summary: string
  layers: PacketNode[]
}

/** What to open at start-up: paths from the command line, else the bundled sample incident. */
export interface Startup {
  paths: string[]
  /** True when the paths are the bundled sample incident. */
  sample: boolean
  /** Why nothing opens (the sample is missing), when that is the case. */
  note?: string
  /** Whether the user can pick files here (the desktop app) or not (browser mode). */
  canPick?: boolean
}

/** The renderer's only way to the engine; the same interface backs Electron and browser mode. */
export interface Api {
  /** Paths to open first. */
  startup(): Promise<Startup>
  pickFiles(): Promise<string[]>
  pickFolder(): Promise<string[]>
  /**
   * Analyses files and folders (a folder is an incident: one subfolder per host); with
   * `whatIf`, also tries each change on copies of the snapshots (the Incident's `whatIf`).
   */
  analyse(paths: string[], options?: AnalyseOptions): Promise<Result<Incident>>
  /** Stops the analysis under way; its analyse() call answers with an error. */
  cancel(): Promise<void>
  /** Returns the text of one input of the loaded incident (a ruleset, a log). */
  readText(path: string): Promise<Result<string>>
  /** Returns one packet of one capture of the loaded incident, decoded. */
  packet(path: string, frame: number): Promise<Result<PacketDetail>>
  /** Saves the loaded incident where the user chooses (HTML report, JSON that reopens, Markdown, text); resolves with the path. */
  exportReport(): Promise<Result<string>>
  onProgress(listener: (p: Progress) => void): () => void
  /** Paths opened from outside the page (the native menu). */
  onOpenPaths(listener: (paths: string[]) => void): () => void
  /** Menu commands for the page (zoom, theme). */
  onCommand(listener: (command: MenuCommand) => void): () => void
  /** The path of a dropped file; '' where the transport cannot know it (browser mode). */
  pathOf(file: File): string
}

/** What an analysis may be asked beyond its paths. */
export interface AnalyseOptions {
  /**
   * Changes to try, each alone, on copies of the snapshots: `iptables ...`, `ip6tables ...`,
   * `nft ...` or `sysctl -w ...`, optionally prefixed by a host (`server: iptables -I INPUT 3 ...`).
   */
  whatIf?: string[]
}

/** The most what-if changes one analysis takes, and the length each must stay under. */
export const WHAT_IF_MAX_CHANGES = 20
export const WHAT_IF_MAX_CHARS = 2000

/**
 * Returns why `v` is not valid AnalyseOptions, or undefined when it is
 * (undefined and null stand for no options).
 */
export function analyseOptionsProblem(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'object' || Array.isArray(v))
    return 'analyse options must be an object such as { whatIf: [...] }'
  const unknownKey = Object.keys(v).find((k) => k !== 'whatIf')
  if (unknownKey !== undefined) return `analyse takes no option named ${unknownKey}`
  const whatIf = (v as { whatIf?: unknown }).whatIf
  if (whatIf === undefined) return undefined
  if (!Array.isArray(whatIf)) return 'whatIf must be a list of changes'
  if (whatIf.length > WHAT_IF_MAX_CHANGES)
    return `whatIf takes at most ${WHAT_IF_MAX_CHANGES} changes (${whatIf.length} given)`
  for (const [i, c] of whatIf.entries()) {
    const which = `what-if change ${i + 1}`
    if (typeof c !== 'string') return `${which} is not text`
    if (c.trim() === '') return `${which} is empty`
    if (c.length >= WHAT_IF_MAX_CHARS)
      return `${which} is ${c.length} characters long: changes must stay under ${WHAT_IF_MAX_CHARS}`
    if (c.includes('\0')) return `${which} holds a NUL character`
  }
  return undefined
}

/** Commands the native menu sends to the page. */
export type MenuCommand =
  'zoom-in' | 'zoom-out' | 'zoom-reset' | 'theme-light' | 'theme-dark' | 'export'

/** Returns true for a list of plain path strings (what main accepts from the renderer). */
export function isPathList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 1000 && v.every(isPath)
}

/** Returns true for one plain path string. */
export function isPath(p: unknown): p is string {
  return typeof p === 'string' && p.length > 0 && p.length < 4096 && !p.includes('\0')
}

/** Returns true for a frame number (1-based). */
export function isFrame(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n < 2 ** 32
}
