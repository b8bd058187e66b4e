import type { Incident } from '../../shared/incident'

/** Elements joined per yielded chunk: few chunks to write, none of them large. */
const BATCH = 512

/**
 * Yields the Incident as JSON text a batch of array elements at a time, so a
 * large incident is never held twice in memory as one string. The top level is
 * indented like JSON.stringify(incident, null, 2); each element of an array
 * (a flow, a finding, an input) is one compact line: `grep F123` finds a flow,
 * `diff` shows which flows changed, and the file is a third smaller and far
 * quicker to write than fully indented JSON. JSON.parse gives the Incident back.
 */
export function* incidentJsonChunks(incident: Incident): Generator<string> {
  const entries = Object.entries(incident)
  yield '{\n'
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]
    const comma = i + 1 < entries.length ? ',' : ''
    if (Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`
      for (let j = 0; j < value.length; j += BATCH) {
        const end = Math.min(j + BATCH, value.length)
        let text = ''
        for (let k = j; k < end; k++)
          text += `    ${JSON.stringify(value[k])}${k + 1 < value.length ? ',' : ''}\n`
        yield text
      }
      yield `  ]${comma}\n`
    } else {
      yield `  ${JSON.stringify(key)}: ${JSON.stringify(value)}${comma}\n`
    }
  }
  yield '}\n'
}

/** Returns the Incident as JSON text in the layout of incidentJsonChunks. */
export function incidentJson(incident: Incident): string {
  return [...incidentJsonChunks(incident)].join('')
}
