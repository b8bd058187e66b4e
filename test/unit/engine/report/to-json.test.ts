import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { incidentJsonChunks } from '../../../../src-main/engine/report/to-json'
import { corpusSource } from '../../../support/sources'

describe('the Incident as streamed JSON', () => {
  it.each(['zeek_smtp.pcap', 'zeek_conn-size.pcap', 'tcpdump_afs.pcap'])(
    'is byte for byte JSON.stringify (%s)',
    async (name) => {
      const incident = await analyse([
        corpusSource(name),
        corpusSource('zeek_attr.pcap', { point: 'other' })
      ])
      expect([...incidentJsonChunks(incident)].join('')).toBe(
        JSON.stringify(incident, null, 2) + '\n'
      )
    }
  )

  it('writes empty arrays as JSON.stringify does', () => {
    const empty = { schema: 'verdict.incident/1' as const, inputs: [], flows: [], findings: [] }
    expect([...incidentJsonChunks(empty)].join('')).toBe(JSON.stringify(empty, null, 2) + '\n')
  })
})
