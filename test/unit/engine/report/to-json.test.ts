import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { incidentJson, incidentJsonChunks } from '../../../../src-main/engine/report/to-json'
import type { Incident } from '../../../../src-main/shared/incident'
import { corpusSource } from '../../../support/sources'

describe('the Incident as streamed JSON', () => {
  it.each(['zeek_smtp.pcap', 'zeek_conn-size.pcap', 'tcpdump_afs.pcap'])(
    'parses back to the Incident, one flow per line (%s)',
    async (name) => {
      const incident = await analyse([
        corpusSource(name),
        corpusSource('zeek_attr.pcap', { point: 'other' })
      ])
      const text = [...incidentJsonChunks(incident)].join('')
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(incident)))
      expect(text).toBe(incidentJson(incident))
      const lines = text.split('\n')
      expect(incident.flows.length).toBeGreaterThan(1)
      for (const flow of incident.flows) {
        const line = lines.filter((l) => l.startsWith(`    {"id":${JSON.stringify(flow.id)},`))
        expect(line).toHaveLength(1)
        expect(JSON.parse(line[0].replace(/,$/, ''))).toEqual(JSON.parse(JSON.stringify(flow)))
      }
      expect(lines.slice(0, 2)).toEqual(['{', '  "schema": "verdict.incident/1",'])
      expect(lines).toContain('  "flows": [')
    }
  )

  it('writes empty arrays inline', () => {
    const empty: Incident = { schema: 'verdict.incident/1', inputs: [], flows: [], findings: [] }
    const text = incidentJson(empty)
    expect(JSON.parse(text)).toEqual(empty)
    expect(text).toBe(
      '{\n  "schema": "verdict.incident/1",\n  "inputs": [],\n  "flows": [],\n  "findings": []\n}\n'
    )
  })
})
