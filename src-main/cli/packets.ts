import { createCaptureReader } from '../engine/capture/read-capture'
import { InputError } from '../engine/capture/input-error'
import { toPacketRecord } from '../engine/capture/packet-record'
import { formatPacketLine } from '../engine/capture/format-packet-line'
import type { CaptureSummary } from '../engine/capture/capture-types'
import { readCaptureChunks } from '../node/read-chunks'
import { createOutput } from './output'

/** `verdict packets FILE [--format text|jsonl]`: returns the exit status. */
export async function runPackets(args: string[]): Promise<number> {
  let format = 'text'
  const files: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--format') format = args[++i] ?? ''
    else if (a.startsWith('--format=')) format = a.slice(9)
    else if (a.startsWith('-')) return usage(`unknown option ${a}`)
    else files.push(a)
  }
  if (format !== 'text' && format !== 'jsonl')
    return usage(`--format must be text or jsonl, not '${format}'`)
  if (files.length !== 1) return usage('give exactly one capture file')
  const file = files[0]
  const out = createOutput()
  let summary: CaptureSummary
  const reader = createCaptureReader(file, (p, iface) => {
    // Fractional digits follow the interface the packet came from.
    const record = toPacketRecord(p, iface.tsDigits)
    out.write(format === 'jsonl' ? JSON.stringify(record) + '\n' : formatPacketLine(record) + '\n')
  })
  try {
    for await (const chunk of readCaptureChunks(file)) {
      reader.push(chunk)
      if (out.pending()) await out.flush()
    }
    summary = reader.end()
  } catch (e) {
    await out.flush()
    if (e instanceof InputError) {
      process.stderr.write(`verdict: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}\n`)
      return 1
    }
    if (isNodeError(e)) {
      process.stderr.write(`verdict: ${file}: ${e.message}\n`)
      return 1
    }
    throw e
  }
  await out.flush()
  for (const p of summary.problems)
    process.stderr.write(`verdict: ${p.source}: ${p.at}: ${p.message}\n`)
  return summary.packets === 0 && summary.problems.length > 0 ? 1 : 0
}

function usage(message: string): number {
  process.stderr.write(
    `verdict packets: ${message}\nusage: verdict packets FILE [--format text|jsonl]\n`
  )
  return 2
}

function isNodeError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string'
}
