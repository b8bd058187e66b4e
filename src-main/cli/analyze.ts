import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import { analyse, type AnalyseOptions } from '../engine/analyse'
import { incidentJsonChunks } from '../engine/report/to-json'
import { toHtml } from '../engine/report/to-html'
import { toMarkdown } from '../engine/report/to-markdown'
import { toText } from '../engine/report/to-text'
import type { Incident } from '../shared/incident'
import { collectInputs } from './collect-inputs'

const USAGE =
  'usage: verdict analyze PATH... [--format json|text|md|html] [--out FILE] [--what-if "CHANGE"]...\n' +
  '                       [--boot-time ISO] [--year N] [--utc-offset +HH:MM]'
const FORMATS = ['json', 'text', 'md', 'html'] as const

/** What `verdict analyze` was asked to do. */
export interface AnalyzeArgs {
  paths: string[]
  format: (typeof FORMATS)[number]
  out?: string
  whatIf: string[]
  clock: NonNullable<AnalyseOptions['clock']>
}

/** `verdict analyze PATH...`: returns the exit status. */
export async function runAnalyze(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  const parsed = parseAnalyzeArgs(args)
  if (typeof parsed === 'string') return usage(parsed)
  const { files, bad } = collectInputs(parsed.paths)
  for (const b of bad) process.stderr.write(`verdict: ${b.message}\n`)
  const options: AnalyseOptions = {}
  if (parsed.whatIf.length > 0) options.whatIf = parsed.whatIf
  if (Object.keys(parsed.clock).length > 0) options.clock = parsed.clock
  const incident = await analyse(files, options)
  // Rendered before writing: a failure to render is not a failure to write.
  const chunks = render(incident, parsed.format)
  try {
    await writeOutput(chunks, parsed.out)
  } catch (e) {
    // A reader that stopped early (`| head`) ends the process quietly in verdict.ts.
    process.stderr.write(
      `verdict analyze: cannot write ${parsed.out ?? 'to standard output'}: ${(e as Error).message}\n`
    )
    return 1
  }
  const readable = incident.inputs.some((i) => i.errors.length === 0 && i.kind !== 'unknown')
  return readable ? 0 : 1
}

/** Returns the parsed arguments, or what is wrong with them. */
export function parseAnalyzeArgs(args: string[]): AnalyzeArgs | string {
  const parsed: AnalyzeArgs = { paths: [], format: 'json', whatIf: [], clock: {} }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const m = /^--(format|out|what-if|boot-time|year|utc-offset)(?:=(.*))?$/s.exec(a)
    if (!m) {
      if (a.startsWith('-') && a !== '-') return `unknown option ${a}`
      parsed.paths.push(a)
      continue
    }
    const value = m[2] ?? args[++i]
    if (value === undefined) return `--${m[1]} needs a value`
    const problem = setOption(parsed, m[1], value)
    if (problem) return problem
  }
  if (parsed.paths.length === 0) return 'give at least one file or folder'
  return parsed
}

function setOption(parsed: AnalyzeArgs, name: string, value: string): string | undefined {
  switch (name) {
    case 'format':
      if (!(FORMATS as readonly string[]).includes(value))
        return `--format must be json, text, md or html, not '${value}'`
      parsed.format = value as AnalyzeArgs['format']
      return undefined
    case 'out':
      if (value === '') return '--out needs a file name'
      parsed.out = value
      return undefined
    case 'what-if':
      if (value.trim() === '')
        return '--what-if needs a change, e.g. "iptables -I INPUT 1 -p tcp --dport 8080 -j ACCEPT"'
      parsed.whatIf.push(value)
      return undefined
    case 'boot-time':
      if (
        !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ||
        Number.isNaN(Date.parse(value))
      )
        return `--boot-time must be an ISO time with its zone, e.g. 2024-05-01T08:00:00Z, not '${value}'`
      parsed.clock.bootTime = value
      return undefined
    case 'year':
      if (!/^\d{4}$/.test(value) || Number(value) < 1970)
        return `--year must be a four-digit year from 1970, not '${value}'`
      parsed.clock.year = Number(value)
      return undefined
    default: {
      const offset = utcOffsetMin(value)
      if (offset === undefined)
        return `--utc-offset must be +HH:MM or -HH:MM (from -12:00 to +14:00), not '${value}'`
      parsed.clock.utcOffsetMin = offset
      return undefined
    }
  }
}

/** Returns minutes east of UTC for "+HH:MM", "-HHMM" or "Z", or undefined. */
function utcOffsetMin(text: string): number | undefined {
  if (text === 'Z' || text === 'UTC') return 0
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(text)
  if (!m) return undefined
  const min = (Number(m[2]) * 60 + Number(m[3])) * (m[1] === '-' ? -1 : 1)
  if (Number(m[3]) > 59 || min > 14 * 60 || min < -12 * 60) return undefined
  return min
}

function render(incident: Incident, format: AnalyzeArgs['format']): Iterable<string> {
  switch (format) {
    case 'json':
      return incidentJsonChunks(incident)
    case 'text':
      return [toText(incident)]
    case 'md':
      return [toMarkdown(incident)]
    case 'html':
      return [toHtml(incident)]
  }
}

function usage(message: string): number {
  process.stderr.write(`verdict analyze: ${message}\n${USAGE}\n`)
  return 2
}

/** Writes text chunks to a file or stdout, waiting whenever the stream asks to. */
async function writeOutput(chunks: Iterable<string>, out: string | undefined): Promise<void> {
  const stream: NodeJS.WritableStream = out ? await openFile(out) : process.stdout
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

/** Opens a file for writing; rejects (rather than throwing later) when it cannot be created. */
async function openFile(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path)
  await once(stream, 'open')
  return stream
}
