import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, udpFrame, type Frame } from '../../../support/build-capture'
import { memorySource } from '../../../support/sources'

/** A DNS question from `client` at `sec` and its answer 20 ms later, the question's IP ID `id`. */
function lookup(client: string, sport: number, sec: number, id: number): Frame[] {
  return [
    {
      sec,
      frac: 0,
      data: udpFrame({ src: client, dst: '8.8.8.8', sport, dport: 53, id, payload: 39 })
    },
    {
      sec,
      frac: 20_000,
      data: udpFrame({ src: '8.8.8.8', dst: client, sport: 53, dport: sport, id: 900, payload: 71 })
    }
  ]
}

describe('conversations seen at several points', () => {
  it('keeps two conversations apart that only share a first IP ID and length', async () => {
    // Two hosts' questions a second apart happen to carry the same IP ID and length.
    const frames = [...lookup('10.0.0.1', 1111, 100, 7), ...lookup('10.0.0.2', 2222, 101, 7)]
    const pcap = buildPcap(frames)
    const { flows } = await analyse([
      memorySource('a.pcap', pcap, { point: 'a' }),
      memorySource('b.pcap', pcap, { point: 'b' })
    ])
    expect(flows.map((f) => [f.src, f.sport, f.outcome, f.seenAt])).toEqual([
      ['10.0.0.1', 1111, 'answered', ['a', 'b']],
      ['10.0.0.2', 2222, 'answered', ['a', 'b']]
    ])
    expect(flows.every((f) => f.nat === undefined)).toBe(true)
  })

  it('follows one datagram through a translation a point saw on both sides', async () => {
    // The router's capture holds the question before and after its source was rewritten.
    const before = lookup('10.0.0.1', 1111, 100, 7)
    const after = lookup('192.0.2.1', 40001, 100, 7).map((f) => ({ ...f, frac: f.frac + 50 }))
    const router = buildPcap([before[0], after[0], after[1], before[1]])
    const client = buildPcap(before)
    const { flows } = await analyse([
      memorySource('client.pcap', client, { point: 'client' }),
      memorySource('router.pcap', router, { point: 'router' })
    ])
    expect(flows).toHaveLength(1)
    expect(flows[0]).toMatchObject({ src: '10.0.0.1', outcome: 'answered' })
    expect(flows[0].nat).toMatchObject({
      from: '10.0.0.1:1111 > 8.8.8.8:53',
      translatedAt: ['router']
    })
  })
})
