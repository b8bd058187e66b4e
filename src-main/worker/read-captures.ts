import { statSync } from 'node:fs'
import { readChunks } from '../node/read-chunks'
import { createCaptureReader } from '../engine/capture/read-capture'
import { InputError } from '../engine/capture/input-error'
import { toPacketRecord, type PacketRecord } from '../engine/capture/packet-record'
import type { CaptureOverview, Progress } from '../shared/api'

/** Packets per file sent to the window; the rest are counted, not sent. */
export const RECORD_LIMIT = 5000

/** Returns an overview of each capture file; a file that cannot be read gets an error, the rest go on. */
export async function readCaptures(
  paths: string[],
  onProgress: (p: Progress) => void
): Promise<CaptureOverview[]> {
  const out: CaptureOverview[] = []
  for (const path of paths) out.push(await readOne(path, onProgress))
  return out
}

async function readOne(path: string, onProgress: (p: Progress) => void): Promise<CaptureOverview> {
  const records: PacketRecord[] = []
  let truncated = false
  let totalBytes = 0
  try {
    totalBytes = statSync(path).size
    const reader = createCaptureReader(
      path,
      (p, iface) => {
        if (records.length < RECORD_LIMIT) records.push(toPacketRecord(p, iface.tsDigits))
        else truncated = true
      },
      { onProgress: (bytesRead) => onProgress({ path, bytesRead, totalBytes }) }
    )
    for await (const chunk of readChunks(path)) {
      reader.push(chunk)
    }
    return { path, summary: reader.end(), records, truncated }
  } catch (e) {
    if (e instanceof InputError)
      return { path, records, truncated, error: { message: e.message, hint: e.hint } }
    if (e instanceof Error && 'code' in e)
      return { path, records, truncated, error: { message: `${path}: ${e.message}` } }
    throw e
  }
}
