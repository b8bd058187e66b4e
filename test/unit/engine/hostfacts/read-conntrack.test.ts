import { describe, expect, it } from 'vitest'
import { readConntrack } from '../../../../src-main/engine/hostfacts/read-conntrack'
import { fixture } from './fixture'

describe('readConntrack', () => {
  for (const [name, format] of [
    ['conntrack-L.txt', 'conntrack'],
    ['proc-nf_conntrack.txt', 'proc']
  ] as const) {
    it(`reads ${name} (host B, accounting on)`, () => {
      const t = readConntrack(name, fixture(name))
      expect(t.problems).toEqual([])
      expect(t.format).toBe(format)
      expect(t.summary).toEqual({
        count: 5,
        byState: { TIME_WAIT: 1, icmpv6: 1, icmp: 1, ESTABLISHED: 1, udp: 1 },
        byProto: { tcp: 2, icmpv6: 1, icmp: 1, udp: 1 },
        unreplied: 1,
        assured: 2
      })
      const est = t.entries.find((e) => e.state === 'ESTABLISHED')
      expect(est).toMatchObject({
        family: 4,
        proto: 'tcp',
        protoNumber: 6,
        timeoutSec: 431997,
        orig: { src: '10.77.0.1', dst: '10.77.0.2', dport: 8080, packets: 2, bytes: 112 },
        reply: { src: '10.77.0.2', dst: '10.77.0.1', sport: 8080, packets: 1, bytes: 60 },
        flags: ['ASSURED'],
        mark: 0
      })
      expect(est?.zone).toBe(format === 'proc' ? 0 : undefined)
      const v6 = t.entries.find((e) => e.proto === 'icmpv6')
      expect(v6).toMatchObject({
        family: 6,
        protoNumber: 58,
        orig: { src: 'fd77::1', dst: 'fd77::2', type: 128, code: 0 },
        reply: { src: 'fd77::2', dst: 'fd77::1', type: 129, code: 0 }
      })
      expect(v6?.orig.id).toBe(v6?.reply.id)
      const udp = t.entries.find((e) => e.proto === 'udp')
      expect(udp?.state).toBeUndefined()
      expect(udp).toMatchObject({
        timeoutSec: 27,
        flags: ['UNREPLIED'],
        orig: { dport: 5353, packets: 1 },
        reply: { packets: 0, bytes: 0 }
      })
    })
  }

  it('reads a SYN_SENT entry without accounting (host A)', () => {
    for (const name of ['conntrack-L-a.txt', 'proc-nf_conntrack-a.txt']) {
      const t = readConntrack(name, fixture(name))
      expect(t.problems).toEqual([])
      expect(t.summary.byState.SYN_SENT).toBe(1)
      const syn = t.entries.find((e) => e.state === 'SYN_SENT')
      expect(syn).toEqual(
        expect.objectContaining({
          timeoutSec: 118,
          flags: ['UNREPLIED'],
          orig: { src: '10.77.0.1', dst: '10.77.0.2', sport: 40214, dport: 6666 },
          reply: { src: '10.77.0.2', dst: '10.77.0.1', sport: 6666, dport: 40214 }
        })
      )
    }
  })

  it('keeps the other lines and reports a garbled one with its line number', () => {
    const lines = fixture('conntrack-L.txt').split('\n')
    lines.splice(2, 0, 'tcp 6 garbage SYN_SENT src=1.2.3.4')
    lines.push('conntrack v1.4.7 (conntrack-tools): 5 flow entries have been shown.')
    const t = readConntrack('x', lines.join('\n'))
    expect(t.entries).toHaveLength(5)
    expect(t.problems).toHaveLength(1)
    expect(t.problems[0]).toMatchObject({ source: 'x', at: 'line 3' })
    expect(t.entries[2].line).toBe(4)
  })
})
