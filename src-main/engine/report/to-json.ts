import type { Incident } from '../../shared/incident'

/**
 * Yields the Incident as JSON text, exactly as JSON.stringify(incident, null, 2)
 * would write it, one array element at a time: a large incident is never held
 * twice in memory as one string.
 */
export function* incidentJsonChunks(incident: Incident): Generator<string> {
  const entries = Object.entries(incident)
  yield '{\n'
  for (let i = 0; i < entries.length; i++) {
    const [key, value] = entries[i]
    const comma = i + 1 < entries.length ? ',' : ''
    if (Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`
      for (let j = 0; j < value.length; j++) {
        yield (
          indent(JSON.stringify(value[j], null, 2), '    ') + (j + 1 < value.length ? ',\n' : '\n')
        )
      }
      yield `  ]${comma}\n`
    } else {
      yield `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}${comma}\n`
    }
  }
  yield '}\n'
}

function indent(text: string, pad: string): string {
  return pad + text.replace(/\n/g, '\n' + pad)
}
