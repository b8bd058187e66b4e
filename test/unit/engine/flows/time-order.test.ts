import { describe, expect, it } from 'vitest'
import { analyse } from '../../../../src-main/engine/analyse'
import { buildPcap, tcpFrame, type Frame } from '../../../support/build-capture'
import { memorySource } from '../../../support/sources'

/** One SYN a second from its own port, at the given seconds and microseconds. */
const syns = (times: [number, number][]): Frame[] =>
  times.map(([sec, frac], i) => ({ sec, frac, data: tcpFrame({ sport: 40000 + i }) }))

describe('a capture not in time order', () => {
  it('is read whole, with a warning naming how many packets went back, how far and where', async () => {
    // Two halves joined end to end: the later half first.
    const pcap = buildPcap(
      syns([
        [200, 0],
        [201, 0],
        [202, 0],
        [100, 0],
        [101, 0]
      ])
    )
    const { inputs, flows } = await analyse([memorySource('joined.pcap', pcap)])
    expect(flows).toHaveLength(5)
    expect(inputs[0].warnings).toEqual([
      'joined.pcap: 2 packets are earlier than one before them (by up to 102 s, first at frame 4): ' +
        'the file is not in time order (joined end to end, as by mergecap -a?) or its clock ' +
        'stepped back; conversations across that point may be split or misjudged'
    ])
  })

  it('says nothing of neighbours swapped by less than a second (a capture on several interfaces)', async () => {
    const pcap = buildPcap(
      syns([
        [100, 500_000],
        [100, 400_000],
        [101, 0],
        [100, 900_000]
      ])
    )
    const { inputs } = await analyse([memorySource('any.pcap', pcap)])
    expect(inputs[0].warnings).toEqual([])
  })
})
