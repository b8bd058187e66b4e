import type { Incident } from '../../shared/incident'

/** Array elements stringified per call: large enough to cost few calls, small enough to stream. */
const BATCH = 256
/** What JSON.stringify({ x: [...] }, null, 2) writes around the elements, at the depth they have in the Incident. */
const HEAD = '{\n  "x": [\n'
const TAIL = '\n  ]\n}'

/**
 * Yields the Incident as JSON text, exactly as JSON.stringify(incident, null, 2)
 * would write it, a batch of array elements at a time: a large incident is
 * never held twice in memory as one string.
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
        // Wrapped in an object under a key, the elements come out indented as the Incident's own.
        const text = JSON.stringify({ x: value.slice(j, j + BATCH) }, null, 2)
        yield (
          text.slice(HEAD.length, text.length - TAIL.length) +
          (j + BATCH < value.length ? ',\n' : '\n')
        )
      }
      yield `  ]${comma}\n`
    } else {
      yield `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}${comma}\n`
    }
  }
  yield '}\n'
}
