/**
 * The bundled sample incident (resources/sample-incident, made by the kernel lab with
 * scripts/make-sample-incident.ts): the app and `verdict serve` open it on first start, so its
 * analysis must still find every cause it was made with.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { collectInputs } from '../../src-main/cli/collect-inputs'
import { analyse } from '../../src-main/engine/analyse'
import type { Incident } from '../../src-main/shared/incident'
import { wrongCauses, wrongRules, type KnownCase } from '../support/incident-cases'

const root = resolve(import.meta.dirname, '..', '..', 'resources')
const cases = JSON.parse(readFileSync(`${root}/sample-incident.cases.json`, 'utf8')) as KnownCase[]

describe('the bundled sample incident', () => {
  let inc: Incident
  beforeAll(async () => {
    const { files, bad } = collectInputs([`${root}/sample-incident`])
    expect(bad).toEqual([])
    inc = await analyse(files)
  })

  it('reads every file without an error', () => {
    expect(inc.inputs.flatMap((i) => i.errors)).toEqual([])
    expect(inc.inputs.length).toBeGreaterThanOrEqual(20)
  })

  it('shows several kinds of failure, each with the cause it was made with', () => {
    expect(new Set(cases.map((c) => c.cause)).size).toBeGreaterThanOrEqual(6)
    expect(wrongCauses(inc, cases)).toEqual([])
    expect(wrongRules(inc, cases)).toEqual([])
  })

  it('explains every failed flow', () => {
    const failed = inc.flows.filter(
      (f) => !['established', 'answered', 'incomplete'].includes(f.outcome)
    )
    expect(failed.filter((f) => f.finding === undefined).map((f) => f.id)).toEqual([])
    expect(inc.findings.filter((f) => f.cause.kind === 'unknown')).toEqual([])
  })
})
