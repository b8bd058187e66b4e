import { toHtml } from '../engine/report/to-html'
import { incidentJson } from '../engine/report/to-json'
import { toMarkdown } from '../engine/report/to-markdown'
import { toText } from '../engine/report/to-text'
import type { Incident } from '../shared/incident'

/** The formats Export report… offers, as the save dialog lists them. */
export const REPORT_FILTERS = [
  { name: 'Report (HTML, readable without the app)', extensions: ['html'] },
  { name: 'Incident (JSON, reopens in Verdict)', extensions: ['json'] },
  { name: 'Markdown', extensions: ['md'] },
  { name: 'Plain text', extensions: ['txt'] }
]

/** Returns the incident written in the format the file name asks for (HTML by default). */
export function reportFor(path: string, incident: Incident): string {
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase()
  if (ext === 'json') return incidentJson(incident)
  if (ext === 'md') return toMarkdown(incident)
  if (ext === 'txt') return toText(incident)
  return toHtml(incident)
}
