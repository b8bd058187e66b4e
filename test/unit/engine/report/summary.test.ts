import { describe, expect, it } from 'vitest'
import { failedByOutcome, summarise } from '../../../../src-main/engine/report/summary'
import { describeFlow } from '../../../../src-main/engine/report/describe-flow'
import { isoToUs, usToIso } from '../../../../src-main/engine/report/time'
import { sampleIncident } from './sample-incident'

describe('the counts every report shares', () => {
  it('counts flows by outcome and findings by cause', () => {
    const s = summarise(sampleIncident())
    expect(s).toMatchObject({ flows: 8, succeeded: 2, failed: 6, explained: 5, unexplained: 1 })
    expect(s.byOutcome).toEqual([
      { outcome: 'established', count: 1 },
      { outcome: 'answered', count: 1 },
      { outcome: 'syn-timeout', count: 4 },
      { outcome: 'refused-rst', count: 1 },
      { outcome: 'stalled', count: 1 }
    ])
    expect(s.byCause).toEqual([
      { kind: 'rule', findings: 1, flows: 2 },
      { kind: 'conntrack-full', findings: 1, flows: 1 },
      { kind: 'no-listener', findings: 1, flows: 1 },
      { kind: 'unknown', findings: 1, flows: 1 }
    ])
    expect(s).toMatchObject({ inputs: 5, inputsWithErrors: 2, warnings: 2, errors: 2 })
    expect([s.first, s.last]).toEqual([
      '2011-03-07T03:00:04.000000Z',
      '2011-03-07T03:00:13.000000Z'
    ])
  })

  it('groups failed flows by outcome in report order, earliest first', () => {
    const incident = sampleIncident()
    incident.flows.reverse()
    expect(failedByOutcome(incident).map((g) => [g.outcome, g.flows.map((f) => f.id)])).toEqual([
      ['syn-timeout', ['F1', 'F2', 'F4', 'F5']],
      ['refused-rst', ['F3']],
      ['stalled', ['F7']]
    ])
  })

  it('reads times to the microsecond, whatever the number of fraction digits', () => {
    expect(isoToUs('2011-03-07T03:00:05.000100Z')).toBe(Date.UTC(2011, 2, 7, 3, 0, 5) * 1000 + 100)
    expect(isoToUs('2014-12-09T17:16:09.924505488Z') % 1e6).toBe(924505)
    expect(isoToUs('2011-03-07T03:00:05Z') % 1e6).toBe(0)
    expect(isoToUs('yesterday')).toBeNaN()
    expect(usToIso(isoToUs('2011-03-07T03:00:05.000100Z') + 7e6)).toBe(
      '2011-03-07T03:00:12.000100Z'
    )
  })
})

describe('a conversation only a since-boot log saw, with no boot time', () => {
  it('is described by its seconds after boot, not as a 1970 date', () => {
    const base = {
      id: 'F1',
      proto: 'tcp' as const,
      src: '10.0.0.1',
      sport: 40000,
      dst: '10.0.0.2',
      dport: 22,
      last: '1970-01-01T15:35:03.000000Z',
      outcome: 'syn-timeout' as const,
      packets: 1,
      bytes: 60,
      seenAt: [],
      loggedAt: ['server']
    }
    expect(describeFlow({ ...base, first: '1970-01-01T15:35:02.270838Z' })).toBe(
      'F1 tcp 10.0.0.1:40000 > 10.0.0.2:22 at 56102.270838 s after boot (boot time unknown: --boot-time): logged at server; no capture saw it'
    )
    // Placed on the real clock, or seen by a capture, it keeps its date.
    expect(describeFlow({ ...base, first: '2026-11-22T15:35:02.270838Z' })).toMatch(
      / at 2026-11-22T15:35:02\.270838Z:/
    )
  })
})
