import type { CaptureSummary } from '../engine/capture/capture-types'
import type { PacketRecord } from '../engine/capture/packet-record'
import type { Result } from './result'

/** One capture file as the app shows it: what the reader learnt and the first packets. */
export interface CaptureOverview {
  path: string
  summary?: CaptureSummary
  /** The first packets, at most `limit` of them. */
  records: PacketRecord[]
  /** True when the file holds more packets than were sent. */
  truncated: boolean
  error?: { message: string; hint?: string }
}

/** Bytes read of the file being read. */
export interface Progress {
  path: string
  bytesRead: number
  totalBytes: number
}

/** The renderer's only way to the engine; the same interface backs Electron and browser mode. */
export interface Api {
  pickFiles(): Promise<string[]>
  readCaptures(paths: string[]): Promise<Result<CaptureOverview[]>>
  onProgress(listener: (p: Progress) => void): () => void
  /** Paths given on the command line at start-up. */
  initialPaths(): Promise<string[]>
}

/** Returns true for a list of plain path strings (what main accepts from the renderer). */
export function isPathList(v: unknown): v is string[] {
  return (
    Array.isArray(v) &&
    v.length <= 1000 &&
    v.every((p) => typeof p === 'string' && p.length > 0 && p.length < 4096 && !p.includes('\0'))
  )
}
