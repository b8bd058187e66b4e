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

describe('the sample incident without its captures: drop logs and snapshots alone', () => {
  /** The failures the kernel logged in a text log (the NFLOG drop's log is a capture). */
  const LOGGED = [
    'logged drop',
    'logged drop (IPv6)',
    'return path',
    'DNAT without a FORWARD accept',
    'egress'
  ]
  let inc: Incident
  beforeAll(async () => {
    const { files } = collectInputs([`${root}/sample-incident`])
    inc = await analyse(files.filter((f) => !f.path.endsWith('.pcap')))
  })

  it('makes each logged failure a conversation seen at no capture point, logged on its host', () => {
    expect(inc.flows.length).toBeGreaterThan(0)
    for (const f of inc.flows) expect(f.seenAt, f.id).toEqual([])
    for (const c of cases.filter((x) => LOGGED.includes(x.name))) {
      const flow = inc.flows.find((f) => f.proto === c.proto && f.sport === c.sport)
      expect(flow, c.name).toMatchObject({ outcome: c.outcome, loggedAt: [c.host] })
    }
  })

  it('finds each one its cause and rule, exactly as with the captures', () => {
    const logged = cases.filter((x) => LOGGED.includes(x.name))
    expect(logged).toHaveLength(LOGGED.length)
    expect(wrongCauses(inc, logged)).toEqual([])
    expect(wrongRules(inc, logged)).toEqual([])
  })

  it('counts the SYNs the kernel logged as the opener retransmitting', () => {
    const c = cases.find((x) => x.name === 'logged drop')!
    const flow = inc.flows.find((f) => f.sport === c.sport)!
    expect(flow.synRetransmits).toBe(2)
    expect(flow.synRetransmitOffsets!.map(Math.round)).toEqual([1, 3])
  })

  it('makes no conversation of what was logged and accepted, or of nothing', () => {
    // Every flow only a log saw is a failure with a finding.
    for (const f of inc.flows) expect(f.finding, f.id).toBeDefined()
  })
})
