import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { collectInputs } from '../../../src-main/cli/collect-inputs'
import { analyse } from '../../../src-main/engine/analyse'
import { reportFor } from '../../../src-main/main/report-format'
import { ROOT } from '../../support/run'

describe('Export report…', () => {
  it('writes the format the file name asks for; the JSON reopens as the same incident', async () => {
    const incident = await analyse(
      collectInputs([resolve(ROOT, 'resources/sample-incident')]).files
    )
    expect(JSON.parse(reportFor('/x/incident.json', incident))).toEqual(incident)
    expect(reportFor('/x/report.HTML', incident)).toMatch(/^<!doctype html>/i)
    expect(reportFor('/x/report', incident)).toMatch(/^<!doctype html>/i)
    expect(incident.findings.length).toBeGreaterThan(0)
    const md = reportFor('/x/report.md', incident)
    const txt = reportFor('/x/report.txt', incident)
    for (const f of incident.findings) {
      expect(txt).toContain(f.title)
      expect(md).toContain(f.id)
    }
  })
})
