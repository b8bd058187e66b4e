import type { Cause, Evidence, TraceStepView } from '../../shared/incident'

/** Returns where an evidence item comes from: "point:file#frame" sightings, "file:line", or the snapshot simulated. */
export function evidenceSource(e: Evidence): string {
  switch (e.kind) {
    case 'packet':
      return e.frames?.length ? e.frames.join(', ') : (e.point ?? '')
    case 'icmp':
      return e.frames?.join(', ') ?? ''
    case 'log':
    case 'counter':
      return `${e.file}:${e.line}`
    case 'simulation':
      return e.host ? `${e.file} (${e.host})` : e.file
    default:
      return fileLine(e)
  }
}

/** A snapshot fact, or a kind of evidence added later: its file and line when it has them. */
function fileLine(e: Evidence): string {
  const { file, line } = e as { file?: unknown; line?: unknown }
  if (typeof file !== 'string') return ''
  return typeof line === 'number' ? `${file}:${line}` : file
}

/** Returns the detail behind an evidence item's text: the log line as written, the packet walked, the counter. */
export function evidenceDetail(e: Evidence): string | undefined {
  switch (e.kind) {
    case 'log':
      return e.raw
    case 'simulation': {
      const uncertain = e.uncertain
        ? `, uncertain${e.uncertainWhy?.length ? ': ' + e.uncertainWhy.join('; ') : ''}`
        : ''
      return `${e.packet} (path ${e.path}, ct ${e.ct}) → ${e.verdict}${uncertain}`
    }
    case 'counter':
      return `${e.packets} packets, ${e.bytes} bytes`
    case 'packet':
      return e.absent ? 'not seen' : undefined
    default:
      return undefined
  }
}

/** Returns the time an evidence item carries, when it has one. */
export function evidenceTime(e: Evidence): string | undefined {
  return e.kind === 'packet' || e.kind === 'icmp' || e.kind === 'log' ? e.time : undefined
}

/** Returns where a cause sits: system and host, table and chain, file and line, verdict. */
export function causeWhere(c: Cause): string {
  const parts: string[] = []
  if (c.system) parts.push(c.host ? `${c.system} on ${c.host}` : c.system)
  else if (c.host) parts.push(`on ${c.host}`)
  if (c.table) parts.push(`table ${c.table}`)
  if (c.chain) parts.push(`chain ${c.chain}`)
  if (c.file) parts.push(c.line !== undefined ? `${c.file} line ${c.line}` : c.file)
  if (c.verdict) parts.push(`verdict ${c.verdict}`)
  return parts.join(', ')
}

/** Returns a confidence as a whole percentage ("87%"). */
export function percent(confidence: number): string {
  return `${Math.round(Math.max(0, Math.min(1, confidence)) * 100)}%`
}

/** Returns one line for a rule or policy a simulated packet met: where, the rule, whether it matched and why not. */
export function traceStepText(step: TraceStepView): string {
  const where = `${step.hook} ${step.table} ${step.chain}${step.line !== undefined ? ` line ${step.line}` : ''}`
  const what = step.kind === 'rule' ? (step.rule ?? '') : step.kind
  const result = step.matched ? `matched${step.action ? ' → ' + step.action : ''}` : 'no match'
  return `${where}: ${what} (${result}${step.note ? ': ' + step.note : ''})`
}
