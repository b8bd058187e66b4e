import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { analyse } from '../engine/analyse'
import { incidentJsonChunks } from '../engine/report/to-json'
import { toText } from '../engine/report/to-text'
import { collectInputs } from './collect-inputs'

const USAGE = 'usage: verdict analyze PATH... [--format json|text] [--out FILE]'

/** `verdict analyze PATH...`: returns the exit status. */
export async function runAnalyze(args: string[]): Promise<number> {
  let format = 'json'
  let out: string | undefined
  const paths: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '--format') format = args[++i] ?? ''
    else if (a.startsWith('--format=')) format = a.slice(9)
    else if (a === '--out') out = args[++i]
    else if (a.startsWith('--out=')) out = a.slice(6)
    else if (a.startsWith('-')) return usage(`unknown option ${a}`)
    else paths.push(a)
  }
  if (format !== 'json' && format !== 'text')
    return usage(`--format must be json or text, not '${format}'`)
  if (paths.length === 0) return usage('give at least one file or folder')
  const { files, bad } = collectInputs(paths)
  for (const b of bad) process.stderr.write(`verdict: ${b.message}\n`)
  const incident = await analyse(files)
  await writeOutput(format === 'json' ? incidentJsonChunks(incident) : [toText(incident)], out)
  const readable = incident.inputs.some((i) => i.errors.length === 0 && i.kind !== 'unknown')
  return readable ? 0 : 1
}

function usage(message: string): number {
  process.stderr.write(`verdict analyze: ${message}\n${USAGE}\n`)
  return 2
}

/** Writes text chunks to a file or stdout, waiting whenever the stream asks to. */
async function writeOutput(chunks: Iterable<string>, out: string | undefined): Promise<void> {
  const stream = out ? createWriteStream(out) : process.stdout
  let batch = ''
  for (const chunk of chunks) {
    batch += chunk
    if (batch.length < 1 << 16) continue
    if (!stream.write(batch)) await once(stream, 'drain')
    batch = ''
  }
  if (batch) stream.write(batch)
  if (out) {
    stream.end()
    await once(stream, 'finish')
  }
}
