import { describe, expect, it } from 'vitest'
import {
  alignClock,
  densest,
  yearNear,
  yearUpTo
} from '../../../../src-main/engine/align/align-clock'
import type { LogEvent } from '../../../../src-main/engine/logs/log-event'

const packet = { in: 's0', out: '', src: '10.0.0.1', dst: '10.0.0.2', proto: 'TCP', len: 60, id: 1 }

function boot(sec: number): LogEvent {
  return { kind: 'packet', file: 'k.log', line: 1, text: '', time: { bootSec: sec }, packet }
}

describe('densest', () => {
  it('finds the tightest largest cluster and its median', () => {
    const d = densest([5, 100.0001, 100.0003, 100.0002, 300], 0.05)!
    expect(d.count).toBe(3)
    expect(d.median).toBeCloseTo(100.0002, 6)
    expect(d.spread).toBeCloseTo(0.0002, 6)
  })
  it('returns undefined with nothing to cluster', () => {
    expect(densest([], 1)).toBeUndefined()
  })
})

describe('alignClock', () => {
  it('learns the boot time from sightings, ignoring a stray match', () => {
    const events = [boot(10), boot(20), boot(30)]
    const truth = 1_700_000_000.123456
    const seen = new Map([
      [events[0], [truth + 10]],
      [events[1], [truth + 20, truth + 900]],
      [events[2], [truth + 30]]
    ])
    const a = alignClock('k.log', events, (e) => seen.get(e) ?? [], {})
    expect(a.alignment.method).toBe('learnt')
    expect(a.alignment.matches).toBe(3)
    expect(Math.abs(a.alignment.offsetSec! - truth)).toBeLessThan(1e-6)
    expect(a.timeOf({ bootSec: 40 })).toBeCloseTo(truth + 40, 5)
  })

  it('uses a given boot time, else says it cannot place dmesg seconds', () => {
    const given = alignClock('k.log', [boot(1)], () => [], { bootTime: '2026-11-22T00:00:00Z' })
    expect(given.alignment.method).toBe('given')
    expect(given.timeOf({ bootSec: 1 })).toBe(Date.parse('2026-11-22T00:00:01Z') / 1000)
    const none = alignClock('k.log', [boot(1)], () => [], {})
    expect(none.alignment.method).toBe('none')
    expect(none.timeOf({ bootSec: 1 })).toBeUndefined()
  })

  it('reads a wall clock without zone as UTC unless a zone is given', () => {
    const wall = { month: 11, day: 22, hour: 8, minute: 30, second: 0, micros: 0 }
    const e: LogEvent = { kind: 'packet', file: 's.log', line: 1, text: '', time: { wall }, packet }
    const capture = Date.parse('2026-11-22T03:00:00Z') / 1000
    const assumed = alignClock('s.log', [e], () => [], {}, capture)
    expect(assumed.alignment.method).toBe('assumed')
    expect(assumed.timeOf(e.time)).toBe(Date.parse('2026-11-22T08:30:00Z') / 1000)
    const given = alignClock('s.log', [e], () => [], { utcOffsetMin: 330 }, capture)
    expect(given.alignment.method).toBe('given')
    expect(given.timeOf(e.time)).toBe(Date.parse('2026-11-22T03:00:00Z') / 1000)
  })

  it('puts a December line beside January captures in the year before', () => {
    const jan = Date.parse('2027-01-01T00:10:00Z') / 1000
    expect(yearNear(12, jan)).toBe(2026)
    expect(yearNear(1, jan)).toBe(2027)
    expect(yearNear(1, Date.parse('2026-12-31T23:00:00Z') / 1000)).toBe(2027)
  })

  it('with no year given nor captures, reads each month as its last before the analysis, and says so', () => {
    const at = (month: number, day: number): LogEvent => ({
      kind: 'packet',
      file: 's.log',
      line: 1,
      text: '',
      time: { wall: { month, day, hour: 0, minute: 0, second: 1, micros: 0 } },
      packet
    })
    const today = Date.parse('2027-01-02T12:00:00Z') / 1000
    expect(yearUpTo(12, today)).toBe(2026)
    expect(yearUpTo(1, today)).toBe(2027)
    const log = [at(12, 31), at(1, 1)]
    const a = alignClock('s.log', log, () => [], { today })
    expect(a.alignment.method).toBe('assumed')
    // December is last year's, January this year's: the lines stay a day apart.
    expect(a.timeOf(log[0].time)).toBe(Date.parse('2026-12-31T00:00:01Z') / 1000)
    expect(a.timeOf(log[1].time)).toBe(Date.parse('2027-01-01T00:00:01Z') / 1000)
    expect(a.alignment.text).toContain('without a zone or year, taken as UTC in 2027')
    // A year given, or captures to take it from, is not an assumption.
    const given = alignClock('s.log', log, () => [], { today, year: 2020 })
    expect(given.timeOf(log[1].time)).toBe(Date.parse('2020-01-01T00:00:01Z') / 1000)
    expect(given.alignment.text).not.toContain('or year')
  })
})
